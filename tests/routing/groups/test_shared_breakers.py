"""Two processes' group routers over one real Redis agree on a deployment's breaker:
one's opening takes the deployment out for the other, and one's successful probe closes
it for both."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from providers.groups import Deployment, GroupConfig
from routing.groups.breaker import BreakerPolicy
from routing.groups.shared import PULL_SECONDS, RedisGroupShare
from routing.groups.state import GroupRouter
from tests.redis_server import RedisServer

GROUP = GroupConfig("gpt", "weighted-random", (Deployment("east:gpt-4o"), Deployment("west:gpt-4o")))
POLICY = BreakerPolicy(failures=2, window=60, cooldown=0.5)


def share_of(router: GroupRouter) -> RedisGroupShare:
    share = router.listeners[0]
    assert isinstance(share, RedisGroupShare)
    return share


@pytest.fixture
async def two_processes(
    redis_server: RedisServer, settings: object
) -> AsyncIterator[tuple[GroupRouter, ...]]:
    with redis_server.client() as client:
        client.flushall()
    settings.VANDAMME_GROUPS_REDIS_URL = redis_server.url  # type: ignore[attr-defined]
    routers = (GroupRouter(POLICY), GroupRouter(POLICY))
    for router in routers:
        router.share_through_redis()
    yield routers
    for router in routers:
        await share_of(router).aclose()


async def seen_by(router: GroupRouter) -> list[str]:
    """The targets ``router`` would choose from, once it has pulled what Redis holds."""
    await asyncio.sleep(PULL_SECONDS)
    router.choose(GROUP)  # starts the pull
    await share_of(router).settled()
    return sorted(deployment.target for deployment in router.choose(GROUP).order)


async def test_two_processes_agree_on_an_opening_and_on_the_closing(
    two_processes: tuple[GroupRouter, ...],
) -> None:
    first, second = two_processes
    assert await seen_by(second) == ["east:gpt-4o", "west:gpt-4o"]
    first.failed("east:gpt-4o", 503, None)
    first.failed("east:gpt-4o", 502, None)  # the second failure opens it
    await share_of(first).settled()
    assert first.breaker_state("east:gpt-4o") == "open"
    assert await seen_by(second) == ["west:gpt-4o"]
    assert second.breaker_state("east:gpt-4o") == "open"
    await asyncio.sleep(POLICY.cooldown)  # both half-open
    first.begin("east:gpt-4o")  # the first process's probe
    first.succeeded("east:gpt-4o", 0.1)
    await share_of(first).settled()
    assert first.breaker_state("east:gpt-4o") == "closed"
    assert await seen_by(second) == ["east:gpt-4o", "west:gpt-4o"]
    assert second.breaker_state("east:gpt-4o") == "closed"


async def test_a_429_cools_the_deployment_for_every_process(two_processes: tuple[GroupRouter, ...]) -> None:
    first, second = two_processes
    first.failed("west:gpt-4o", 429, 30.0)
    await share_of(first).settled()
    assert await seen_by(second) == ["east:gpt-4o"]
    assert second.breaker_state("west:gpt-4o") == "cooling"


async def test_capacity_counts_are_every_processs(two_processes: tuple[GroupRouter, ...]) -> None:
    capped = GroupConfig(
        "capped", "capacity-aware", (Deployment("east:gpt-4o", 1000, rpm=4), Deployment("west:gpt-4o"))
    )
    first, second = two_processes
    for _ in range(4):
        first.begin("east:gpt-4o")  # the first process sends east its 4 requests this minute
        first.end("east:gpt-4o")
    await share_of(first).settled()
    await asyncio.sleep(PULL_SECONDS)
    second.choose(capped)  # starts the pull
    await share_of(second).settled()
    assert second.capacity.used("east:gpt-4o", time.time())[0] == 4
    assert second.choose(capped).order[0].target == "west:gpt-4o"  # east is full for everyone
