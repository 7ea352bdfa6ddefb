"""Which limits a call is held to, what a store answers, and how a refusal reads. Pure.

Every counter has a store key under ``vdm:limits:{t<team id>}``: the braces are a Redis
Cluster hash tag, so all the counters one check touches live in one slot.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from routing.limits.windows import (
    WINDOW_SECONDS,
    Period,
    bucket_at,
    budget_period,
    excess,
    retry_after_header,
    seconds_until_freed,
    window_total,
)
from routing.table import RateLimits, TeamConfig

KEY_ROOT = "vdm:limits"
REQUESTS = "requests"
TOKENS = "tokens"


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """A per-minute limit. ``cost`` is counted when a call is admitted: 1 for requests,
    0 for tokens (counted once the answer's usage is known)."""

    key: str
    limit: int
    unit: str
    subject: str  # "team 'core'", "gateway key vdm-abc…"

    @property
    def cost(self) -> int:
        return 1 if self.unit == REQUESTS else 0

    def admission_amount(self, reserve: int) -> int:
        """What admitting a call adds: 1 request, or the tokens reserved for it (settled
        against its real usage once that is known)."""
        return 1 if self.unit == REQUESTS else reserve

    def describe(self) -> str:
        return f"{self.subject} allows {self.limit} {self.unit} per minute"


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    """A team's token budget for the calendar period that contains the call."""

    key: str
    limit: int
    team_id: int
    period: Period
    subject: str


@dataclass(frozen=True, slots=True)
class CallLimits:
    windows: tuple[WindowLimit, ...] = ()
    budget: BudgetLimit | None = None

    def __bool__(self) -> bool:
        return bool(self.windows) or self.budget is not None

    @property
    def token_windows(self) -> tuple[WindowLimit, ...]:
        return tuple(window for window in self.windows if window.unit == TOKENS)

    @property
    def counts_tokens(self) -> bool:
        return bool(self.token_windows) or self.budget is not None


NO_LIMITS = CallLimits()


def _windows(base: str, subject: str, limits: RateLimits) -> list[WindowLimit]:
    windows = []
    if limits.requests_per_minute is not None:
        windows.append(WindowLimit(f"{base}:rpm", limits.requests_per_minute, REQUESTS, subject))
    if limits.tokens_per_minute is not None:
        windows.append(WindowLimit(f"{base}:tpm", limits.tokens_per_minute, TOKENS, subject))
    return windows


def call_limits(
    team: TeamConfig | None,
    *,
    key_id: int | None,
    key_prefix: str | None,
    key_limits: RateLimits,
    now: float,
) -> CallLimits:
    """The team's limits and the gateway key's own, for a call at ``now``."""
    if team is None or team.team_id is None:
        return NO_LIMITS  # PROXY_API_KEY or an open gateway: no limits
    base = f"{KEY_ROOT}:{{t{team.team_id}}}"
    subject = f"team '{team.name}'"
    windows = _windows(base, subject, team.rate_limits)
    if key_id is not None:
        windows += _windows(f"{base}:key:{key_id}", f"gateway key {key_prefix or key_id}…", key_limits)
    budget = None
    if team.token_budget is not None:
        period = budget_period(now, team.budget_period)
        budget = BudgetLimit(
            f"{base}:budget:{period.label}", team.token_budget, team.team_id, period, subject
        )
    if not windows and budget is None:
        return NO_LIMITS
    return CallLimits(tuple(windows), budget)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A store's answer to an admission check.

    Refused: ``full_windows`` holds each full window (its index in ``CallLimits.windows``
    and its live buckets) and ``budget_spent`` what an exhausted budget has spent.
    ``budget_unseeded``: the budget's counter must first be seeded from the usage table.
    ``unchecked``: admitted without a check (the store is unreachable), so nothing was
    reserved and nothing is to be settled.
    """

    admitted: bool
    budget_unseeded: bool = False
    unchecked: bool = False
    full_windows: tuple[tuple[int, Mapping[int, int]], ...] = field(default=())
    budget_spent: int | None = None


ADMITTED = Verdict(admitted=True)
UNCHECKED = Verdict(admitted=True, unchecked=True)
BUDGET_UNSEEDED = Verdict(admitted=False, budget_unseeded=True)


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    retry_after: int  # whole seconds until every refusing limit has room again


def _budget_message(budget: BudgetLimit, spent: int) -> str:
    resets = datetime.fromtimestamp(budget.period.end, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    period = budget.period.label.split(":", 1)[0]
    return (
        f"{budget.subject} has used {spent} of its {budget.limit} tokens per {period} "
        f"(the budget resets at {resets})"
    )


def refusal(limits: CallLimits, verdict: Verdict, now: float) -> Refusal:
    """The message and ``retry-after`` for a refused call: the longest wait wins, since
    the call needs room under every limit."""
    waits: list[tuple[float, str]] = []
    for index, buckets in verdict.full_windows:
        window = limits.windows[index]
        needed = excess(window_total(buckets, bucket_at(now)), window.limit, window.cost)
        seconds = seconds_until_freed(buckets, now, needed)
        waits.append((WINDOW_SECONDS if seconds is None else seconds, window.describe()))
    if verdict.budget_spent is not None and limits.budget is not None:
        waits.append((limits.budget.period.end - now, _budget_message(limits.budget, verdict.budget_spent)))
    if not waits:
        raise ValueError("refusal() needs a refused verdict")
    seconds, reason = max(waits)
    retry_after = retry_after_header(seconds)
    return Refusal(f"rate limit exceeded: {reason}; retry in {retry_after} s", retry_after)
