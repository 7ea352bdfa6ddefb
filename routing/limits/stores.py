"""Where limit counters live: the interface, and the in-process store.

Without Redis the counters are this process's own: exact for a single gateway
process, per process when several run (set ``REDIS_URL`` to share them).

Tokens are reserved at admission (``reserve``: the call's estimate, added to its token
windows and budget; ``spend``: its cost estimate in nano-dollars, added to its spend
budgets) and settled by ``count_tokens`` once the usage is known: the real tokens and
cost are added now and the reservation taken back from the bucket it went into.
"""

from dataclasses import dataclass
from typing import Protocol

from routing.limits.alerts import spend_alert
from routing.limits.rules import ADMITTED, BudgetLimit, CallLimits, Verdict, unseeded
from routing.limits.windows import bucket_at, excess, in_window


class LimitStore(Protocol):
    async def admit(self, limits: CallLimits, now: float, reserve: int = 0, spend: int = 0) -> Verdict:
        """Check every limit (tokens and spend: counted plus reserved must be under the
        limit) and, only if all have room, count the request and reserve ``reserve``
        tokens and ``spend`` nano-dollars: atomically."""
        ...

    def count_tokens(
        self,
        limits: CallLimits,
        tokens: int,
        *,
        now: float,
        at: float,
        reserved: int = 0,
        reserved_bucket: int = 0,
        spend: int = 0,
        reserved_spend: int = 0,
    ) -> None:
        """Add a finished call's tokens and spend (non-blocking), less the ``reserved``
        tokens and ``reserved_spend`` its admission added (tokens in ``reserved_bucket``).
        ``at`` is when its usage record was made: budget seeding skips records already
        counted live. A spend budget that reaches its soft threshold alerts, once per period."""
        ...

    async def budget_live_since(self, budget: BudgetLimit) -> float | None:
        """The earliest usage counted live into an unseeded budget, if any."""
        ...

    async def seed_budget(self, budget: BudgetLimit, amount: int) -> None:
        """Add ``amount`` (spent before live counting began) once; later calls are no-ops."""
        ...

    async def flush(self) -> None:
        """Wait for counts still being written."""
        ...

    async def aclose(self) -> None:
        """Release this event loop's connections."""
        ...

    def reset(self) -> None: ...


@dataclass
class _Budget:
    expires_at: float
    spent: int = 0
    seeded: bool = False
    live_since: float | None = None
    alerted: bool = False


class MemoryLimitStore:
    """Counters in this process. Nothing here awaits, so a check-and-count cannot
    interleave with another on the event loop."""

    def __init__(self) -> None:
        self._windows: dict[str, dict[int, int]] = {}
        self._budgets: dict[str, _Budget] = {}

    def reset(self) -> None:
        self._windows.clear()
        self._budgets.clear()

    async def flush(self) -> None:
        return None  # counts are applied at once

    async def aclose(self) -> None:
        return None

    def _buckets(self, key: str, current: int) -> dict[int, int]:
        buckets = self._windows.setdefault(key, {})
        for bucket in [b for b in buckets if not in_window(b, current)]:
            del buckets[bucket]
        return buckets

    async def admit(self, limits: CallLimits, now: float, reserve: int = 0, spend: int = 0) -> Verdict:
        states = [self._budgets.get(budget.key) for budget in limits.budgets]
        missing = tuple(i for i, state in enumerate(states) if state is None or not state.seeded)
        if missing:
            return unseeded(missing)
        full_budgets = tuple(
            (index, state.spent)
            for index, (budget, state) in enumerate(zip(limits.budgets, states, strict=True))
            if state is not None and state.spent >= budget.limit
        )
        current = bucket_at(now)
        windows = [self._buckets(window.key, current) for window in limits.windows]
        full = tuple(
            (index, dict(buckets))
            for index, (window, buckets) in enumerate(zip(limits.windows, windows, strict=True))
            if excess(sum(buckets.values()), window.limit, window.cost) > 0
        )
        if full or full_budgets:
            return Verdict(admitted=False, full_windows=full, full_budgets=full_budgets)
        for window, buckets in zip(limits.windows, windows, strict=True):
            amount = window.admission_amount(reserve)
            if amount:
                buckets[current] = buckets.get(current, 0) + amount
        for budget in limits.budgets:
            self._budgets[budget.key].spent += budget.amount(reserve, spend)
        return ADMITTED

    def count_tokens(
        self,
        limits: CallLimits,
        tokens: int,
        *,
        now: float,
        at: float,
        reserved: int = 0,
        reserved_bucket: int = 0,
        spend: int = 0,
        reserved_spend: int = 0,
    ) -> None:
        current = bucket_at(now)
        for window in limits.token_windows:
            buckets = self._buckets(window.key, current)
            buckets[current] = buckets.get(current, 0) + tokens
            if reserved and reserved_bucket in buckets:  # else it has left the window already
                buckets[reserved_bucket] -= reserved
        for budget in limits.budgets:
            state = self._budget(budget, now)
            held = budget.amount(reserved, reserved_spend)
            # A reservation went only into a seeded budget; a new one (period over) never saw it.
            state.spent = max(0, state.spent + budget.amount(tokens, spend) - (held if state.seeded else 0))
            if not state.seeded and (state.live_since is None or at < state.live_since):
                state.live_since = at
            if _crosses_alert(budget, state):
                state.alerted = True
                spend_alert(budget, state.spent)

    def _budget(self, budget: BudgetLimit, now: float) -> _Budget:
        state = self._budgets.get(budget.key)
        if state is None:
            for key in [k for k, b in self._budgets.items() if b.expires_at <= now]:
                del self._budgets[key]  # periods that have ended
            state = self._budgets[budget.key] = _Budget(expires_at=budget.period.end)
        return state

    async def budget_live_since(self, budget: BudgetLimit) -> float | None:
        state = self._budgets.get(budget.key)
        return state.live_since if state is not None and not state.seeded else None

    async def seed_budget(self, budget: BudgetLimit, amount: int) -> None:
        state = self._budget(budget, budget.period.start)
        if not state.seeded:
            state.spent += amount
            state.seeded = True


def _crosses_alert(budget: BudgetLimit, state: _Budget) -> bool:
    """Seeded (else the count is partial), past the threshold, not yet told this period."""
    return (
        budget.alert_at is not None and state.seeded and not state.alerted and state.spent >= budget.alert_at
    )
