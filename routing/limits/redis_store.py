"""Limit counters in Redis, shared by every gateway process.

Each check is one Lua script (check every limit, count the request and reserve its
estimated tokens and spend only if all have room), so check-and-reserve is one round trip and
atomic across processes: concurrent calls see each other's reservations. Token counts
are settled by a second script from a background task (the real tokens added, the
reservation taken back): recording a call never waits on Redis. Windows are hashes of
bucket → count that expire a minute after their last write; a budget is a hash
(``spent``, ``seeded``, ``since``, and ``alerted`` once a spend budget's soft threshold
was told) that expires after its period.

Redis going away must not take the gateway down: calls go through the circuit breaker
of their URL (``vandamme.redis_breaker``, shared with the generation reader): a failed
call opens it and is logged once, nothing calls Redis until a probe answers, and the
clients made before the failure are replaced (their pooled connections may be dead).
``routing.limits.fallback`` counts in process memory meanwhile.
"""

import asyncio
import contextlib
import logging
import math
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from typing import cast

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from routing.limits.alerts import spend_alert
from routing.limits.rules import (
    ADMITTED,
    UNCHECKED,
    BudgetLimit,
    CallLimits,
    Verdict,
    WindowLimit,
    unseeded,
)
from routing.limits.windows import BUCKETS_PER_WINDOW, WINDOW_SECONDS, bucket_at
from vandamme.redis_breaker import async_client, redis_breaker

logger = logging.getLogger(__name__)

WINDOW_TTL_MS = (WINDOW_SECONDS + 1) * 1000
BUDGET_GRACE_SECONDS = 3600  # a budget hash outlives its period by this much

# KEYS: the windows, then the budgets.
# ARGV: current bucket, buckets per window, window ttl (ms), window count, budget count,
# then per budget its limit and what admission reserves in it (tokens or nano-dollars),
# then per window a limit, a cost (what the check needs room for) and the amount
# admission adds (1 request, or the reserved tokens).
# A token window's total, or a budget's spent, holds what was counted and what calls in
# flight reserved: it must be under the limit for a call to be admitted. Amounts are
# added as the strings they came as, so HINCRBY stays exact past a double's 2**53.
CHECK_SCRIPT = """
local current, span, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local count, budgets = tonumber(ARGV[4]), tonumber(ARGV[5])
local unseeded, full_budgets = {}, {}
for b = 1, budgets do
  local state = redis.call('HMGET', KEYS[count + b], 'seeded', 'spent')
  if state[1] ~= '1' then
    unseeded[#unseeded + 1] = b - 1
  else
    local spent = state[2] or '0'
    if tonumber(spent) >= tonumber(ARGV[4 + 2 * b]) then
      full_budgets[#full_budgets + 1] = b - 1
      full_budgets[#full_budgets + 1] = spent
    end
  end
end
if #unseeded > 0 then return {'seed', unpack(unseeded)} end
local base = 5 + 2 * budgets
local full = {}
for i = 1, count do
  local limit, cost = tonumber(ARGV[base + 3 * i - 2]), tonumber(ARGV[base + 3 * i - 1])
  local flat = redis.call('HGETALL', KEYS[i])
  local total, live = 0, {}
  for j = 1, #flat, 2 do
    if tonumber(flat[j]) <= current - span then
      redis.call('HDEL', KEYS[i], flat[j])
    else
      total = total + tonumber(flat[j + 1])
      live[#live + 1] = flat[j]
      live[#live + 1] = flat[j + 1]
    end
  end
  if total + math.max(cost, 1) > limit then
    full[#full + 1] = i - 1
    full[#full + 1] = live
  end
end
if #full > 0 or #full_budgets > 0 then
  return {'refused', full_budgets, unpack(full)}
end
for i = 1, count do
  local amount = ARGV[base + 3 * i]
  if tonumber(amount) > 0 then
    redis.call('HINCRBY', KEYS[i], ARGV[1], amount)
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
for b = 1, budgets do
  local amount = ARGV[5 + 2 * b]
  if tonumber(amount) > 0 then redis.call('HINCRBY', KEYS[count + b], 'spent', amount) end
end
return {'ok'}
"""

# KEYS: the token windows, then the budgets.
# ARGV: current bucket, window ttl (ms), tokens, window count, budget count, usage time,
# tokens reserved at admission, the bucket they went into, buckets per window, then per
# budget: what the usage adds (tokens or nano-dollars), what admission reserved in it,
# its expiry (epoch seconds) and its alert threshold ('' for none).
# Returns, per budget that reached its alert threshold first (HSETNX: once per period
# whichever process counts it), its index and spent.
COUNT_SCRIPT = """
local tokens, count, budgets = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local reserved, reserved_bucket = tonumber(ARGV[7]), tonumber(ARGV[8])
local current, span = tonumber(ARGV[1]), tonumber(ARGV[9])
for i = 1, count do
  redis.call('HINCRBY', KEYS[i], ARGV[1], tokens)
  if reserved > 0 and reserved_bucket > current - span then
    redis.call('HINCRBY', KEYS[i], ARGV[8], -reserved)
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
local alerts = {}
for b = 1, budgets do
  local budget, at = KEYS[count + b], 9 + 4 * (b - 1)
  local amount, held, alert = ARGV[at + 1], ARGV[at + 2], ARGV[at + 4]
  local seeded = redis.call('HGET', budget, 'seeded') == '1'
  local spent = redis.call('HINCRBY', budget, 'spent', amount)
  -- A reservation went only into a seeded budget; one flushed since never saw it.
  if seeded and tonumber(held) > 0 then spent = redis.call('HINCRBY', budget, 'spent', '-' .. held) end
  if spent < 0 then
    redis.call('HSET', budget, 'spent', 0)
    spent = 0
  end
  if not seeded then
    local since = redis.call('HGET', budget, 'since')
    if not since or tonumber(ARGV[6]) < tonumber(since) then
      redis.call('HSET', budget, 'since', ARGV[6])
    end
  elseif alert ~= '' and spent >= tonumber(alert) and redis.call('HSETNX', budget, 'alerted', '1') == 1 then
    alerts[#alerts + 1] = b - 1
    alerts[#alerts + 1] = spent
  end
  redis.call('EXPIREAT', budget, ARGV[at + 3])
end
return alerts
"""

# KEYS: the budget. ARGV: what was spent before live counting began, expiry.
SEED_SCRIPT = """
if redis.call('HGET', KEYS[1], 'seeded') == '1' then return 0 end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
redis.call('HSET', KEYS[1], 'seeded', '1')
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
"""


class _Connection:
    """A client bound to one event loop, with the scripts registered on it."""

    def __init__(self, url: str, timeout: float, epoch: int) -> None:
        self.epoch = epoch  # the breaker's, when made: a later opening replaces this client
        self.client = async_client(url, timeout)
        self.check: AsyncScript = self.client.register_script(CHECK_SCRIPT)
        self.count: AsyncScript = self.client.register_script(COUNT_SCRIPT)
        self.seed: AsyncScript = self.client.register_script(SEED_SCRIPT)


def _keys(windows: Sequence[WindowLimit], budgets: Sequence[BudgetLimit]) -> list[str]:
    """A script's KEYS: the windows, then the budgets."""
    return [window.key for window in windows] + [budget.key for budget in budgets]


def _budget_expiry(budget: BudgetLimit) -> int:
    return math.ceil(budget.period.end) + BUDGET_GRACE_SECONDS


def _parse_buckets(flat: Sequence[str]) -> dict[int, int]:
    return {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _verdict(reply: Sequence[object]) -> Verdict:
    outcome = reply[0]
    if outcome == "ok":
        return ADMITTED
    if outcome == "seed":
        return unseeded(tuple(int(str(index)) for index in reply[1:]))
    flat_budgets = cast(Sequence[object], reply[1])
    budgets = tuple(
        (int(str(flat_budgets[i])), int(str(flat_budgets[i + 1]))) for i in range(0, len(flat_budgets), 2)
    )
    rest = reply[2:]
    full: tuple[tuple[int, Mapping[int, int]], ...] = tuple(
        (int(str(rest[i])), _parse_buckets(cast(Sequence[str], rest[i + 1]))) for i in range(0, len(rest), 2)
    )
    return Verdict(admitted=False, full_windows=full, full_budgets=budgets)


async def _close_quietly(connection: _Connection) -> None:
    with contextlib.suppress(RedisError, OSError):
        await connection.client.aclose()


class RedisLimitStore:
    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._timeout = timeout
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self.breaker = redis_breaker(url)
        self._tasks: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        self._connections.clear()

    def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is None or connection.epoch != self.breaker.epoch:
            if connection is not None:
                self._spawn(_close_quietly(connection))
            connection = self._connections[loop] = _Connection(self._url, self._timeout, self.breaker.epoch)
        return connection

    def _spawn(self, coroutine: "Coroutine[object, object, None]") -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def unreachable(self) -> bool:
        return self.breaker.is_open

    def _failed(self, exc: BaseException) -> None:
        self.breaker.failed(exc)

    def _answered(self) -> None:
        self.breaker.succeeded()

    async def admit(self, limits: CallLimits, now: float, reserve: int = 0, spend: int = 0) -> Verdict:
        if self.unreachable:
            return UNCHECKED
        keys = _keys(limits.windows, limits.budgets)
        args: list[str | int] = [bucket_at(now), BUCKETS_PER_WINDOW, WINDOW_TTL_MS, len(limits.windows)]
        args.append(len(limits.budgets))
        for budget in limits.budgets:
            args += [budget.limit, budget.amount(reserve, spend)]
        for window in limits.windows:
            args += [window.limit, window.cost, window.admission_amount(reserve)]
        try:
            reply = await self._connection().check(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return UNCHECKED
        self._answered()
        return _verdict(reply)

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
        if self.unreachable:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a management command): nothing serves requests here
            return
        windows, budgets = limits.token_windows, limits.budgets
        args: list[str | int] = [bucket_at(now), WINDOW_TTL_MS, tokens, len(windows), len(budgets), repr(at)]
        args += [reserved, reserved_bucket, BUCKETS_PER_WINDOW]
        for budget in budgets:
            alert = "" if budget.alert_at is None else budget.alert_at
            held = budget.amount(reserved, reserved_spend)
            args += [budget.amount(tokens, spend), held, _budget_expiry(budget), alert]
        task = loop.create_task(self._count(_keys(windows, budgets), args, budgets))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _count(self, keys: list[str], args: list[str | int], budgets: Sequence[BudgetLimit]) -> None:
        try:
            alerts = await self._connection().count(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return
        for i in range(0, len(alerts), 2):
            spend_alert(budgets[int(alerts[i])], int(alerts[i + 1]))

    async def flush(self) -> None:
        """Wait for the token counts in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)

    async def aclose(self) -> None:
        """Close this loop's connections (tests, shutdown)."""
        connection = self._connections.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            await connection.client.aclose()

    async def budget_live_since(self, budget: BudgetLimit) -> float | None:
        try:
            seeded, since = await self._connection().client.hmget(budget.key, ["seeded", "since"])
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return None
        return float(since) if since is not None and seeded != "1" else None

    async def seed_budget(self, budget: BudgetLimit, amount: int) -> None:
        try:
            await self._connection().seed(keys=[budget.key], args=[amount, _budget_expiry(budget)])
        except (RedisError, OSError) as exc:
            self._failed(exc)
