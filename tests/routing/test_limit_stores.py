"""Both limit stores behave alike: process memory, and Redis (a real redis-server)."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import redis

from routing.limits.redis_store import RedisLimitStore
from routing.limits.rules import REQUESTS, TOKENS, BudgetLimit, CallLimits, WindowLimit
from routing.limits.stores import LimitStore, MemoryLimitStore
from routing.limits.windows import budget_period
from tests.integration.gateway import free_port
from tests.redis_server import RedisServer

NOW = int(time.time()) + 0.25  # mid-bucket; near the real time, since Redis expires budgets by the clock
RPM = WindowLimit("vdm:limits:{t1}:rpm", 3, REQUESTS, "team 'core'")
KEY_RPM = WindowLimit("vdm:limits:{t1}:key:9:rpm", 2, REQUESTS, "gateway key vdm-k")
TPM = WindowLimit("vdm:limits:{t1}:tpm", 100, TOKENS, "team 'core'")
BUDGET = BudgetLimit("vdm:limits:{t1}:budget:month", 500, 1, budget_period(NOW, "month"), "team 'core'")


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LimitStore]:
    if request.param == "memory":
        yield MemoryLimitStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    with server.client() as client:
        client.flushall()
    redis_store = RedisLimitStore(server.url, timeout=2.0)
    yield redis_store
    await redis_store.flush()
    await redis_store.aclose()


async def test_admits_up_to_the_limit_then_refuses_with_the_window(store: LimitStore) -> None:
    limits = CallLimits((RPM,))
    verdicts = [await store.admit(limits, NOW + i * 0.1) for i in range(5)]
    assert [v.admitted for v in verdicts] == [True, True, True, False, False]
    assert dict(verdicts[3].full_windows) == {0: {int(NOW): 3}}  # refused calls are not counted


async def test_the_window_frees_a_minute_later(store: LimitStore) -> None:
    limits = CallLimits((RPM,))
    for _ in range(3):
        assert (await store.admit(limits, NOW)).admitted
    assert not (await store.admit(limits, NOW + 59.5)).admitted  # bucket NOW still in the window
    assert (await store.admit(limits, NOW + 59.75)).admitted  # its bucket has left at the next second


async def test_all_or_nothing_across_team_and_key(store: LimitStore) -> None:
    limits = CallLimits((RPM, KEY_RPM))
    assert [(await store.admit(limits, NOW)).admitted for _ in range(3)] == [True, True, False]
    refused = await store.admit(limits, NOW)
    assert [index for index, _ in refused.full_windows] == [1]  # only the key is full
    # the key's refusals did not use up the team's room: another key of the team still goes
    other_key = CallLimits((RPM, WindowLimit("vdm:limits:{t1}:key:10:rpm", 2, REQUESTS, "k")))
    assert (await store.admit(other_key, NOW)).admitted
    assert not (await store.admit(other_key, NOW)).admitted  # now the team is full


async def test_tokens_are_counted_after_the_call(store: LimitStore) -> None:
    limits = CallLimits((TPM,))
    assert (await store.admit(limits, NOW)).admitted
    store.count_tokens(limits, 80, now=NOW, at=NOW)
    await store.flush()
    assert (await store.admit(limits, NOW + 1)).admitted  # 80 < 100: may go
    store.count_tokens(limits, 30, now=NOW + 1, at=NOW + 1)
    await store.flush()
    refused = await store.admit(limits, NOW + 2)
    assert not refused.admitted
    assert dict(refused.full_windows) == {0: {int(NOW): 80, int(NOW) + 1: 30}}


async def test_reservations_hold_room_until_settled_with_the_real_usage(store: LimitStore) -> None:
    """Counted plus reserved must be under the limit; settling replaces the reservation
    with the usage (less, or more), in the bucket the usage is known in."""
    limits = CallLimits((TPM,))
    assert (await store.admit(limits, NOW, 60)).admitted
    assert (await store.admit(limits, NOW + 1, 60)).admitted  # 60 reserved < 100: may go
    refused = await store.admit(limits, NOW + 1, 60)  # 120 reserved: full, nothing added
    assert dict(refused.full_windows) == {0: {int(NOW): 60, int(NOW) + 1: 60}}
    store.count_tokens(limits, 10, now=NOW + 2, at=NOW + 2, reserved=60, reserved_bucket=int(NOW))
    store.count_tokens(limits, 0, now=NOW + 2, at=NOW + 2, reserved=60, reserved_bucket=int(NOW) + 1)
    await store.flush()
    assert (await store.admit(limits, NOW + 3, 95)).admitted  # 10 counted
    refused = await store.admit(limits, NOW + 3, 1)
    assert sum(dict(refused.full_windows)[0].values()) == 105


async def test_a_budget_reservation_is_settled_against_the_spent_tokens(store: LimitStore) -> None:
    limits = CallLimits((), (BUDGET,))
    await store.seed_budget(BUDGET, 400)
    assert (await store.admit(limits, NOW, 90)).admitted  # 490 spent or reserved
    assert (await store.admit(limits, NOW, 90)).admitted  # 490 < 500: the last one may go
    assert (await store.admit(limits, NOW, 1)).budget_spent == 580
    store.count_tokens(limits, 30, now=NOW, at=NOW, reserved=90, reserved_bucket=int(NOW))
    store.count_tokens(limits, 0, now=NOW, at=NOW, reserved=90, reserved_bucket=int(NOW))  # failed
    await store.flush()
    assert (await store.admit(limits, NOW, 69)).admitted  # 430 spent, now 499 with this one
    assert (await store.admit(limits, NOW, 1)).admitted
    assert (await store.admit(limits, NOW, 1)).budget_spent == 500


async def test_a_budget_is_seeded_once_then_enforced(store: LimitStore) -> None:
    limits = CallLimits((), (BUDGET,))
    assert (await store.admit(limits, NOW)).budget_unseeded
    assert await store.budget_live_since(BUDGET) is None
    await store.seed_budget(BUDGET, 450)
    await store.seed_budget(BUDGET, 450)  # a second seed (another process) changes nothing
    assert (await store.admit(limits, NOW)).admitted
    store.count_tokens(limits, 60, now=NOW, at=NOW)
    await store.flush()
    refused = await store.admit(limits, NOW)
    assert (refused.admitted, refused.budget_spent) == (False, 510)


async def test_usage_counted_before_the_seed_is_remembered_and_kept(store: LimitStore) -> None:
    limits = CallLimits((), (BUDGET,))
    store.count_tokens(limits, 40, now=NOW, at=NOW + 2)  # a call admitted before the period began
    store.count_tokens(limits, 10, now=NOW, at=NOW + 1)
    await store.flush()
    assert await store.budget_live_since(BUDGET) == NOW + 1  # the seed reads records before this
    assert (await store.admit(limits, NOW)).budget_unseeded
    await store.seed_budget(BUDGET, 455)
    assert await store.budget_live_since(BUDGET) is None
    assert (await store.admit(limits, NOW)).budget_spent == 505


async def test_redis_counters_expire_on_their_own(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.flushall()
        store = RedisLimitStore(redis_server.url, timeout=2.0)
        limits = CallLimits((RPM, TPM), (BUDGET,))
        await store.seed_budget(BUDGET, 0)
        assert (await store.admit(limits, NOW)).admitted
        store.count_tokens(limits, 5, now=NOW, at=NOW)
        await store.flush()
        assert 0 < client.pttl(RPM.key) <= 61_000
        assert 0 < client.pttl(TPM.key) <= 61_000
        assert client.expiretime(BUDGET.key) == int(BUDGET.period.end) + 3600
        await store.aclose()


async def test_checks_from_many_clients_at_once_admit_exactly_the_limit(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.flushall()
    stores = [RedisLimitStore(redis_server.url, timeout=2.0) for _ in range(4)]  # as four processes
    limits = CallLimits((WindowLimit("vdm:limits:{t2}:rpm", 25, REQUESTS, "team 'x'"),))
    verdicts = await asyncio.gather(*(stores[i % 4].admit(limits, NOW) for i in range(100)))
    assert sum(v.admitted for v in verdicts) == 25
    for store in stores:
        await store.aclose()


async def test_unreachable_redis_fails_open_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisLimitStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)  # nothing listens
    limits = CallLimits((RPM,), (BUDGET,))
    with caplog.at_level(logging.WARNING, logger="vandamme.redis_breaker"):
        verdicts = [await store.admit(limits, NOW) for _ in range(5)]
        store.count_tokens(limits, 10, now=NOW, at=NOW)
        await store.flush()
        await store.aclose()
    assert all(v.admitted for v in verdicts)
    warnings = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(warnings) == 1
    assert "limits counted in this process" in warnings[0].getMessage()


async def test_redis_coming_back_is_used_again(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vandamme.redis_breaker.PROBE_SECONDS", 0.0)
    with redis_server.client() as client:
        client.flushall()
    store = RedisLimitStore(redis_server.url, timeout=2.0)
    limits = CallLimits((WindowLimit("vdm:limits:{t3}:rpm", 1, REQUESTS, "team 'y'"),))
    real_connection = store._connection

    def broken() -> object:
        raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(store, "_connection", broken)
    assert (await store.admit(limits, NOW)).admitted
    assert store.unreachable
    monkeypatch.setattr(store, "_connection", real_connection)
    assert (await store.admit(limits, NOW)).admitted  # open: Redis is not asked until a probe answers
    await store.breaker.probe()
    assert not store.unreachable
    assert (await store.admit(limits, NOW)).admitted
    assert not (await store.admit(limits, NOW)).admitted  # enforced again
    await store.aclose()
