"""Retry budgets: a provider's retries may be at most a fraction of its recent requests.

A retry is worth it when failures are rare; when a provider is down, every retry is one
more call to a dead upstream and more seconds of the client's silence, multiplied by the
client's own retries (Claude Code tries 11 times). So, as Finagle's ``RetryBudget`` and
gRPC's retry throttling do, each request to a provider deposits
``VANDAMME_RETRY_BUDGET_RATIO`` of a token and each retry takes a whole one; a small
reserve, ``VANDAMME_RETRY_BUDGET_MIN_PER_SECOND`` tokens a second, keeps a quiet gateway
able to retry its occasional failure. The balance never exceeds ``BALANCE_CAP``, so a
long healthy spell does not bank enough retries to hammer an upstream that then dies.

One budget per provider and process, in memory. The hot path costs one integer addition
(``deposit``); the clock is read only when a retry is asked for.
"""

import time

from django.conf import settings

# The most retries a budget holds: what a burst of failures can spend at once.
BALANCE_CAP = 10
# Balances are kept in thousandths of a retry: whole numbers, so fifty deposits of 0.2
# make exactly ten retries (floats would make 9.999…).
MILLI = 1000


class RetryBudget:
    """Retries for one provider (see the module docstring), in thousandths."""

    __slots__ = ("balance", "refilled_at")

    def __init__(self, now: float) -> None:
        self.balance = BALANCE_CAP * MILLI
        self.refilled_at = now

    def deposit(self) -> None:
        """A request to the provider: a fraction of a retry earned."""
        earned = round(settings.VANDAMME_RETRY_BUDGET_RATIO * MILLI)
        self.balance = min(BALANCE_CAP * MILLI, self.balance + earned)

    def withdraw(self, now: float) -> bool:
        """Take one retry if the budget allows it (``now``: ``time.monotonic()``)."""
        earned = round((now - self.refilled_at) * settings.VANDAMME_RETRY_BUDGET_MIN_PER_SECOND * MILLI)
        self.refilled_at = now
        self.balance = min(BALANCE_CAP * MILLI, self.balance + earned)
        if self.balance < MILLI:
            return False
        self.balance -= MILLI
        return True

    def empty(self) -> None:
        """Spend every retry (tests, and an operator's experiment)."""
        self.balance = 0


class RetryBudgets:
    """The budgets of this process, one per provider name, made on first use."""

    def __init__(self) -> None:
        self._budgets: dict[str, RetryBudget] = {}

    def for_provider(self, name: str) -> RetryBudget:
        budget = self._budgets.get(name)
        if budget is None:
            budget = self._budgets[name] = RetryBudget(time.monotonic())
        return budget

    def reset(self) -> None:
        """Forget every budget (tests)."""
        self._budgets.clear()


retry_budgets = RetryBudgets()
# Sent by the official SDKs on every request: how many times the SDK has retried it.
CLIENT_RETRY_COUNT_HEADER = "x-stainless-retry-count"


def client_is_retrying(retry_count: str | None) -> bool:
    """Whether the client says this request is its own retry: the official SDKs send
    ``x-stainless-retry-count`` (0 on a first try). Claude Code runs its own retry loop
    with the SDK's retries off, so it always sends 0: for it, the budget and
    ``x-should-retry`` (``routing.failover``) do the work."""
    if not retry_count:
        return False
    try:
        return int(retry_count.strip()) > 0
    except ValueError:
        return False
