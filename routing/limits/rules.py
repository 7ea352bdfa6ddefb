"""Which limits a call is held to, what a store answers, and how a refusal reads. Pure.

Budgets per calendar period: a team's tokens, and money (a team's and a gateway key's
spend, in nano-dollars) — counted like tokens: reserved at admission, settled on the
real usage, seeded from the usage table.

Every counter has a store key under ``vdm:limits:{t<team id>}``: the braces are a Redis
Cluster hash tag, so all the counters one check touches live in one slot.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

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
from routing.table import RateLimits, SpendBudget, TeamConfig

KEY_ROOT = "vdm:limits"
REQUESTS = "requests"
TOKENS = "tokens"
# Money is counted in whole nano-dollars: integers keep Redis's HINCRBY exact (no float
# drift over a month of calls), and a nano-dollar is fine enough for the cheapest token
# ($0.01 per million is 10 nano-dollars) where micro-dollars would round a small call's
# cost to 0. A signed 64-bit counter still holds $9.2 billion (Redis adds exactly; its Lua
# compares as doubles, exact to 2**53 nano-dollars, $9 million, per period).
NANO_USD = "nano-USD"
NANOS_PER_USD = 1_000_000_000
MAX_NANOS = 2**63 - 1


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
    """A budget for the calendar period that contains the call: a team's tokens, or a
    team's or a gateway key's spend in nano-dollars (``unit``). Seeded from the usage
    rows of the team, or of the key when ``key_id`` is set."""

    key: str
    limit: int
    team_id: int
    period: Period
    subject: str
    unit: str = TOKENS
    key_id: int | None = None
    alert_at: int | None = None  # the soft threshold (spend budgets), in ``unit``
    team_name: str = ""  # the alert metric's label

    def amount(self, tokens: int, nanos: int) -> int:
        """What a call's usage adds to this budget."""
        return nanos if self.unit == NANO_USD else tokens


@dataclass(frozen=True, slots=True)
class CallLimits:
    windows: tuple[WindowLimit, ...] = ()
    budgets: tuple[BudgetLimit, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.windows) or bool(self.budgets)

    @property
    def token_windows(self) -> tuple[WindowLimit, ...]:
        return tuple(window for window in self.windows if window.unit == TOKENS)

    @property
    def counts_tokens(self) -> bool:
        return bool(self.token_windows) or any(budget.unit == TOKENS for budget in self.budgets)

    @property
    def counts_spend(self) -> bool:
        return any(budget.unit == NANO_USD for budget in self.budgets)

    @property
    def settles(self) -> bool:
        """Usage is to be counted once known (tokens or spend)."""
        return self.counts_tokens or self.counts_spend


NO_LIMITS = CallLimits()


def _windows(base: str, subject: str, limits: RateLimits) -> list[WindowLimit]:
    windows = []
    if limits.requests_per_minute is not None:
        windows.append(WindowLimit(f"{base}:rpm", limits.requests_per_minute, REQUESTS, subject))
    if limits.tokens_per_minute is not None:
        windows.append(WindowLimit(f"{base}:tpm", limits.tokens_per_minute, TOKENS, subject))
    return windows


def usd_to_nanos(usd: Decimal) -> int:
    """Whole nano-dollars (rounded down), at most what a Redis integer holds."""
    return min(int(usd * NANOS_PER_USD), MAX_NANOS) if usd > 0 else 0


def _spend_budget(
    base: str,
    subject: str,
    budget: SpendBudget,
    team: tuple[int, str],  # id, name
    key_id: int | None,
    now: float,
) -> BudgetLimit:
    team_id, team_name = team
    period = budget_period(now, budget.period)
    limit = usd_to_nanos(budget.usd)
    alert_at = limit * budget.alert_percent // 100
    return BudgetLimit(
        f"{base}:spend:{period.label}", limit, team_id, period, subject, NANO_USD, key_id, alert_at, team_name
    )


def call_limits(
    team: TeamConfig | None,
    *,
    key_id: int | None,
    key_prefix: str | None,
    key_limits: RateLimits,
    now: float,
    key_spend: SpendBudget | None = None,
) -> CallLimits:
    """The team's limits and the gateway key's own, for a call at ``now``."""
    if team is None or team.team_id is None:
        return NO_LIMITS  # PROXY_API_KEY or an open gateway: no limits
    base = f"{KEY_ROOT}:{{t{team.team_id}}}"
    subject = f"team '{team.name}'"
    key_subject = f"gateway key {key_prefix or key_id}…"
    windows = _windows(base, subject, team.rate_limits)
    if key_id is not None:
        windows += _windows(f"{base}:key:{key_id}", key_subject, key_limits)
    budgets = []
    if team.token_budget is not None:
        period = budget_period(now, team.budget_period)
        budgets.append(
            BudgetLimit(f"{base}:budget:{period.label}", team.token_budget, team.team_id, period, subject)
        )
    if team.spend_budget is not None:
        budgets.append(_spend_budget(base, subject, team.spend_budget, (team.team_id, team.name), None, now))
    if key_spend is not None and key_id is not None:
        key_base = f"{base}:key:{key_id}"
        budgets.append(
            _spend_budget(key_base, key_subject, key_spend, (team.team_id, team.name), key_id, now)
        )
    if not windows and not budgets:
        return NO_LIMITS
    return CallLimits(tuple(windows), tuple(budgets))


@dataclass(frozen=True, slots=True)
class Verdict:
    """A store's answer to an admission check.

    Refused: ``full_windows`` holds each full window (its index in ``CallLimits.windows``
    and its live buckets) and ``full_budgets`` each exhausted budget (its index in
    ``CallLimits.budgets`` and what it has spent). ``unseeded``: the budgets (indexes)
    whose counters must first be seeded from the usage table. ``unchecked``: admitted
    without a check (the store is unreachable), so nothing was reserved and nothing is
    to be settled.
    """

    admitted: bool
    unseeded: tuple[int, ...] = ()
    unchecked: bool = False
    full_windows: tuple[tuple[int, Mapping[int, int]], ...] = field(default=())
    full_budgets: tuple[tuple[int, int], ...] = ()

    @property
    def budget_unseeded(self) -> bool:
        return bool(self.unseeded)

    @property
    def budget_spent(self) -> int | None:
        """What the first exhausted budget has spent, if one is."""
        return self.full_budgets[0][1] if self.full_budgets else None


ADMITTED = Verdict(admitted=True)
UNCHECKED = Verdict(admitted=True, unchecked=True)


def unseeded(indexes: tuple[int, ...]) -> Verdict:
    return Verdict(admitted=False, unseeded=indexes)


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    retry_after: int  # whole seconds until every refusing limit has room again


def usd(nanos: int, *, precise: bool = False) -> str:
    """``$10.02``; with ``precise`` four decimals, for budgets under a dollar."""
    dollars = Decimal(nanos) / NANOS_PER_USD
    return f"${dollars:,.4f}" if precise else f"${dollars:,.2f}"


def _budget_message(budget: BudgetLimit, spent: int) -> str:
    resets = datetime.fromtimestamp(budget.period.end, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    period = budget.period.label.split(":", 1)[0]
    if budget.unit == NANO_USD:
        precise = budget.limit < NANOS_PER_USD
        return (
            f"{budget.subject} has spent {usd(spent, precise=precise)} of its "
            f"{usd(budget.limit, precise=precise)} budget per {period} (the budget resets at {resets})"
        )
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
    for index, spent in verdict.full_budgets:
        budget = limits.budgets[index]
        waits.append((budget.period.end - now, _budget_message(budget, spent)))
    if not waits:
        raise ValueError("refusal() needs a refused verdict")
    seconds, reason = max(waits)
    retry_after = retry_after_header(seconds)
    return Refusal(f"rate limit exceeded: {reason}; retry in {retry_after} s", retry_after)
