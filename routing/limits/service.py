"""Holding a proxied call to its team's and gateway key's limits.

``limiter.admit(auth, reserve=…, spend=…)`` runs before any upstream call (once the
model is resolved: a spend estimate needs the serving model's prices) and raises a 429
``GatewayError`` (rendered in the client's dialect by its front door) with
``retry-after``; when admitted it counts the request and reserves the call's estimated
tokens and cost (``routing.limits.reservation``), returning the ``Reservation``.
``limiter.count(auth, tokens, at, reservation, cost_usd=…)`` settles it without
waiting: the real tokens and cost are added, the reservation taken back. So concurrent
calls see each other before any has answered, and a token limit or budget is overshot
by about the one call admitted last (plus what the estimates fell short), not by every
call in flight. The store is Redis when ``VANDAMME_LIMITS_REDIS_URL`` (by default
``REDIS_URL``) is set, else process memory.

A budget counter that does not exist yet (a new period, a restarted gateway without
Redis, a flushed Redis) is seeded once from the usage table (tokens, or ``cost_usd`` of
the team or gateway key): one aggregate query, awaited by the calls of that team that
arrive meanwhile, none after.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection

from routing.auth import ClientAuth
from routing.errors import GatewayError
from routing.limits.reservation import Reservation, cost_nanos
from routing.limits.rules import TOKENS, BudgetLimit, CallLimits, call_limits, refusal
from routing.limits.stores import LimitStore, MemoryLimitStore
from routing.limits.windows import bucket_at
from teams.selectors import spend_usd, team_tokens_spent

logger = logging.getLogger(__name__)


def _limits_of(auth: ClientAuth, now: float) -> CallLimits:
    return call_limits(
        auth.team,
        key_id=auth.key_id,
        key_prefix=auth.key_prefix,
        key_limits=auth.key_limits,
        now=now,
        key_spend=auth.key_spend_budget,
    )


def _spent_and_release(budget: BudgetLimit, until: float) -> int:
    """The seed query (tokens, or whole nano-dollars), then close this worker thread's
    connection."""
    start, end = datetime.fromtimestamp(budget.period.start, tz=UTC), datetime.fromtimestamp(until, tz=UTC)
    try:
        if budget.unit == TOKENS:
            return team_tokens_spent(team_id=budget.team_id, start=start, until=end)
        # Rounded as each call is when counted live.
        return cost_nanos(spend_usd(team_id=budget.team_id, key_id=budget.key_id, start=start, until=end))
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _redis_store(url: str) -> LimitStore:
    # Imported here: redis-py's asyncio client costs ~20 MiB a gateway without Redis never needs.
    from routing.limits.fallback import RedisWithFallback
    from routing.limits.redis_store import RedisLimitStore

    return RedisWithFallback(RedisLimitStore(url, timeout=settings.VANDAMME_LIMITS_REDIS_TIMEOUT))


class Limiter:
    def __init__(self) -> None:
        self._stores: dict[str, LimitStore] = {}
        self._seeding: dict[tuple[int, str], asyncio.Future[None]] = {}

    def store(self) -> LimitStore:
        url = settings.VANDAMME_LIMITS_REDIS_URL
        store = self._stores.get(url)
        if store is None:
            store = self._stores[url] = _redis_store(url) if url else MemoryLimitStore()
        return store

    def reset(self) -> None:
        """Forget every counter and client (tests)."""
        for store in self._stores.values():
            store.reset()
        self._stores.clear()
        self._seeding.clear()

    async def aclose(self) -> None:
        """Wait for counts in flight, then release this loop's connections."""
        for store in self._stores.values():
            await store.flush()
            await store.aclose()

    async def admit(
        self, auth: ClientAuth, reserve: int = 0, spend: Callable[[], int] | None = None
    ) -> Reservation | None:
        """Raise 429 when the call is over a limit; otherwise count it and reserve
        ``reserve`` tokens and ``spend()`` nano-dollars (asked only when the call has a
        spend budget). Returns the reservation to settle, if one was made."""
        if auth.team is None:
            return None
        now = time.time()
        limits = _limits_of(auth, now)
        if not limits:
            return None
        reserve = reserve if limits.counts_tokens else 0
        nanos = spend() if spend is not None and limits.counts_spend else 0
        store = self.store()
        verdict = await store.admit(limits, now, reserve, nanos)
        if verdict.budget_unseeded:
            await asyncio.gather(*(self._seed(store, limits.budgets[index]) for index in verdict.unseeded))
            verdict = await store.admit(limits, now, reserve, nanos)
        if verdict.admitted:
            if verdict.unchecked or not (reserve or nanos):
                return None
            return Reservation(limits, reserve, bucket_at(now), nanos)
        if verdict.budget_unseeded:  # still unseeded: seeding failed, fail open
            return None
        refused = refusal(limits, verdict, now)
        raise GatewayError(429, refused.message, {"retry-after": str(refused.retry_after)})

    def count(
        self,
        auth: ClientAuth,
        tokens: int,
        at: float,
        reservation: Reservation | None = None,
        *,
        cost_usd: Decimal | None = None,
    ) -> None:
        """Add a finished call's tokens and cost, recorded at ``at`` (epoch seconds), and
        take its reservation back (a failed call: 0 tokens, no cost, the whole
        reservation). An unpriced call (``cost_usd`` None) adds no spend. Non-blocking."""
        tokens, nanos = max(tokens, 0), cost_nanos(cost_usd)
        if reservation is not None:
            self.store().count_tokens(
                reservation.limits,
                tokens,
                now=time.time(),
                at=at,
                reserved=reservation.tokens,
                reserved_bucket=reservation.bucket,
                spend=nanos,
                reserved_spend=reservation.spend,
            )
            return
        if auth.team is None or (tokens <= 0 and nanos <= 0):
            return
        limits = _limits_of(auth, at)
        if limits.settles:
            self.store().count_tokens(limits, tokens, now=time.time(), at=at, spend=nanos)

    async def _seed(self, store: LimitStore, budget: BudgetLimit) -> None:
        """One seed per budget in flight; every call that needs it waits for it."""
        key = (id(asyncio.get_running_loop()), budget.key)
        pending = self._seeding.get(key)
        if pending is None:
            pending = self._seeding[key] = asyncio.ensure_future(self._seed_from_usage(store, budget))
            pending.add_done_callback(lambda _: self._seeding.pop(key, None))
        # Shielded: a client that goes away must not cancel the seed others wait for.
        await asyncio.shield(pending)

    async def _seed_from_usage(self, store: LimitStore, budget: BudgetLimit) -> None:
        live_since = await store.budget_live_since(budget)
        until = live_since if live_since is not None else time.time()
        try:
            spent = await sync_to_async(_spent_and_release, thread_sensitive=False)(budget, until)
        except DatabaseError:
            logger.exception(
                "could not read what %s has spent; its budget is not enforced yet", budget.subject
            )
            return
        await store.seed_budget(budget, spent)


limiter = Limiter()
