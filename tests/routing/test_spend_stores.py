"""Money budgets in both limit stores (process memory and a real redis-server): spend is
reserved and settled in nano-dollars beside tokens, all or nothing across the team's and
the key's budgets, and the soft threshold alerts once per period."""

import logging
import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from routing.limits.redis_store import RedisLimitStore
from routing.limits.rules import NANO_USD, REQUESTS, BudgetLimit, CallLimits, WindowLimit
from routing.limits.stores import LimitStore, MemoryLimitStore
from routing.limits.windows import budget_period
from tests.redis_server import RedisServer

NOW = int(time.time()) + 0.25
PERIOD = budget_period(NOW, "month")
DOLLAR = 1_000_000_000
TEAM = BudgetLimit(
    f"vdm:limits:{{t1}}:spend:{PERIOD.label}", 10 * DOLLAR, 1, PERIOD, "team 'core'", NANO_USD,
    alert_at=8 * DOLLAR, team_name="core",
)  # fmt: skip
KEY = BudgetLimit(
    f"vdm:limits:{{t1}}:key:9:spend:{PERIOD.label}", 2 * DOLLAR, 1, PERIOD, "gateway key vdm-k…", NANO_USD,
    key_id=9, alert_at=int(1.6 * DOLLAR), team_name="core",
)  # fmt: skip
RPM = WindowLimit("vdm:limits:{t1}:rpm", 100, REQUESTS, "team 'core'")


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


def _alerts(team: str = "core", budget: str = "team") -> float:
    value = REGISTRY.get_sample_value("vandamme_spend_alerts_total", {"team": team, "budget": budget})
    return value or 0.0


async def test_spend_is_reserved_then_settled_on_the_real_cost(store: LimitStore) -> None:
    limits = CallLimits((RPM,), (TEAM,))
    await store.seed_budget(TEAM, 9 * DOLLAR)
    assert (await store.admit(limits, NOW, reserve=500, spend=DOLLAR // 2)).admitted  # 9.5 spent or held
    assert (await store.admit(limits, NOW, reserve=500, spend=DOLLAR // 2)).admitted  # 9.5 < 10: may go
    refused = await store.admit(limits, NOW, reserve=500, spend=1)
    assert refused.full_budgets == ((0, 10 * DOLLAR),)
    # the first cost more than its estimate, the second failed (no cost): both give back their reservation
    store.count_tokens(
        limits, 900, now=NOW, at=NOW, reserved=500, spend=DOLLAR * 3 // 4, reserved_spend=DOLLAR // 2
    )
    store.count_tokens(limits, 0, now=NOW, at=NOW, reserved=500, spend=0, reserved_spend=DOLLAR // 2)
    await store.flush()
    assert (await store.admit(limits, NOW, spend=0)).admitted  # an unpriced call: reserves nothing
    assert (await store.admit(limits, NOW, spend=DOLLAR)).admitted  # 9.75 < 10
    assert (await store.admit(limits, NOW)).full_budgets == ((0, 10_750_000_000),)


async def test_a_keys_budget_refuses_the_key_without_using_up_the_team(store: LimitStore) -> None:
    for budget in (TEAM, KEY):
        await store.seed_budget(budget, 0)
    limits = CallLimits((RPM,), (TEAM, KEY))
    assert (await store.admit(limits, NOW, spend=2 * DOLLAR)).admitted
    refused = await store.admit(limits, NOW, spend=DOLLAR)
    assert refused.full_budgets == ((1, 2 * DOLLAR),)  # only the key is spent
    assert refused.budget_spent == 2 * DOLLAR
    team_only = CallLimits((RPM,), (TEAM,))
    assert (await store.admit(team_only, NOW, spend=DOLLAR)).admitted  # the refusal reserved nothing
    store.count_tokens(team_only, 0, now=NOW, at=NOW, spend=0, reserved_spend=DOLLAR)
    await store.flush()
    assert (await store.admit(team_only, NOW)).admitted  # 2 of 10 spent


async def test_unseeded_budgets_are_named_and_a_token_budget_counts_tokens_only(store: LimitStore) -> None:
    tokens = BudgetLimit(f"vdm:limits:{{t1}}:budget:{PERIOD.label}", 1000, 1, PERIOD, "team 'core'")
    limits = CallLimits((), (tokens, TEAM, KEY))
    await store.seed_budget(TEAM, 0)
    assert (await store.admit(limits, NOW)).unseeded == (0, 2)
    await store.seed_budget(tokens, 0)
    await store.seed_budget(KEY, 0)
    assert (await store.admit(limits, NOW, reserve=100, spend=5)).admitted
    store.count_tokens(limits, 999, now=NOW, at=NOW, reserved=100, spend=DOLLAR, reserved_spend=5)
    await store.flush()
    assert (await store.admit(limits, NOW)).admitted  # 999 tokens, $1 of each budget
    store.count_tokens(limits, 1, now=NOW, at=NOW, spend=DOLLAR)
    await store.flush()
    refused = await store.admit(limits, NOW)
    assert refused.full_budgets == ((0, 1000), (2, 2 * DOLLAR))


async def test_the_soft_threshold_alerts_once_per_period(
    store: LimitStore, caplog: pytest.LogCaptureFixture
) -> None:
    limits = CallLimits((), (TEAM,))
    await store.seed_budget(TEAM, 7 * DOLLAR)
    before = _alerts()
    with caplog.at_level(logging.WARNING, logger="routing.limits.alerts"):
        store.count_tokens(limits, 0, now=NOW, at=NOW, spend=DOLLAR // 2)  # 7.5: under 80 %
        await store.flush()
        assert _alerts() == before
        for _ in range(4):  # 8, 8.5, 9, 9.5: one alert, when 8 is reached
            store.count_tokens(limits, 0, now=NOW, at=NOW, spend=DOLLAR // 2)
            await store.flush()
    lines = [r.getMessage() for r in caplog.records if r.name == "routing.limits.alerts"]
    assert lines == [
        f"team 'core' has spent $8.0000 of its $10.0000 budget per month (with calls in flight; period {PERIOD.label}): "
        "past its 80% alert threshold"
    ]
    assert _alerts() == before + 1
    next_period = budget_period(PERIOD.end + 1, "month")
    later = BudgetLimit(
        f"vdm:limits:{{t1}}:spend:{next_period.label}", 10 * DOLLAR, 1, next_period, "team 'core'", NANO_USD,
        alert_at=8 * DOLLAR, team_name="core",
    )  # fmt: skip
    await store.seed_budget(later, 0)
    store.count_tokens(CallLimits((), (later,)), 0, now=NOW, at=NOW, spend=9 * DOLLAR)
    await store.flush()
    assert _alerts() == before + 2  # a new period alerts again


async def test_an_unseeded_budget_does_not_alert_on_its_partial_count(store: LimitStore) -> None:
    limits = CallLimits((), (KEY,))
    before = _alerts(budget="key")
    store.count_tokens(limits, 0, now=NOW, at=NOW, spend=2 * DOLLAR)  # only what this process saw
    await store.flush()
    assert _alerts(budget="key") == before
    await store.seed_budget(KEY, 0)
    store.count_tokens(limits, 0, now=NOW, at=NOW, spend=1)
    await store.flush()
    assert _alerts(budget="key") == before + 1


async def test_two_processes_alert_once_between_them(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.flushall()
    first, second = (RedisLimitStore(redis_server.url, timeout=2.0) for _ in range(2))
    limits = CallLimits((), (TEAM,))
    await first.seed_budget(TEAM, 0)
    before = _alerts()
    for i in range(10):
        (first if i % 2 else second).count_tokens(limits, 0, now=NOW, at=NOW, spend=DOLLAR)
        await first.flush()
        await second.flush()
    assert _alerts() == before + 1
    for store in (first, second):
        await store.aclose()


async def test_redis_adds_nano_dollars_exactly_past_a_doubles_precision(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.flushall()
        store = RedisLimitStore(redis_server.url, timeout=2.0)
        huge = BudgetLimit(f"vdm:limits:{{t2}}:spend:{PERIOD.label}", 2**62, 2, PERIOD, "team 'x'", NANO_USD)
        limits = CallLimits((), (huge,))
        await store.seed_budget(huge, 2**53)
        assert (await store.admit(limits, NOW, spend=1)).admitted
        store.count_tokens(limits, 0, now=NOW, at=NOW, spend=3, reserved_spend=1)
        await store.flush()
        assert client.hget(huge.key, "spent") == str(2**53 + 3)  # a double would say 2**53 + 4
        await store.aclose()
