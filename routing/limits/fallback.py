"""Limits in Redis, or in process memory while Redis's circuit breaker is open.

A gateway whose Redis is down, frozen or restarting keeps enforcing limits, per process
(as without Redis), instead of admitting everything unchecked; as soon as the breaker
closes again (the snapshot watcher's probe, within ``PROBE_SECONDS`` of Redis answering)
the shared counters are used again. Counts made in memory meanwhile stay in memory.
"""

from routing.limits.redis_store import RedisLimitStore
from routing.limits.rules import BudgetLimit, CallLimits, Verdict
from routing.limits.stores import LimitStore, MemoryLimitStore


class RedisWithFallback:
    def __init__(self, redis_store: RedisLimitStore) -> None:
        self.redis = redis_store
        self.memory = MemoryLimitStore()

    def _store(self) -> LimitStore:
        return self.memory if self.redis.breaker.is_open else self.redis

    async def admit(self, limits: CallLimits, now: float, reserve: int = 0, spend: int = 0) -> Verdict:
        if self.redis.breaker.closed:
            verdict = await self.redis.admit(limits, now, reserve, spend)
            if self.redis.breaker.closed:  # else the call failed: its verdict means nothing
                return verdict
        return await self.memory.admit(limits, now, reserve, spend)

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
        self._store().count_tokens(
            limits,
            tokens,
            now=now,
            at=at,
            reserved=reserved,
            reserved_bucket=reserved_bucket,
            spend=spend,
            reserved_spend=reserved_spend,
        )

    async def budget_live_since(self, budget: BudgetLimit) -> float | None:
        return await self._store().budget_live_since(budget)

    async def seed_budget(self, budget: BudgetLimit, amount: int) -> None:
        await self._store().seed_budget(budget, amount)

    async def flush(self) -> None:
        await self.redis.flush()

    async def aclose(self) -> None:
        await self.redis.aclose()

    def reset(self) -> None:
        self.redis.reset()
        self.memory.reset()
