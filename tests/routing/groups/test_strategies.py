"""Strategies, tiers, breakers and affinity keys, without I/O."""

import random
from collections import Counter

import pytest

from providers.groups import Deployment, GroupConfig
from routing.groups.affinity import AffinityPins, affinity_key
from routing.groups.breaker import CLOSED, COOLING, HALF_OPEN, OPEN, BreakerBoard, BreakerPolicy
from routing.groups.strategies import order_group, static_choice

PICKS = 10_000
# A share over 10 000 picks has a standard deviation under 0.005; 0.02 is 4 of them.
TOLERANCE = 0.02


def group(*deployments: Deployment, strategy: str = "weighted-random") -> GroupConfig:
    return GroupConfig("g", strategy, deployments)


def first_picks(config: GroupConfig, **counters: object) -> Counter[str]:
    rng = random.Random(15)
    picks: Counter[str] = Counter()
    for _ in range(PICKS):
        order = order_group(
            config,
            available=counters.get("available", lambda key: True),
            in_flight=counters.get("in_flight", lambda key: None),
            latency=counters.get("latency", lambda key: None),
            rng=rng,
        )
        picks[order[0].target] += 1
    return picks


def test_weighted_random_follows_the_weights_within_the_tolerance() -> None:
    config = group(Deployment("a:x", 5), Deployment("b:x", 3), Deployment("c:x", 2))
    picks = first_picks(config)
    for target, share in {"a:x": 0.5, "b:x": 0.3, "c:x": 0.2}.items():
        assert abs(picks[target] / PICKS - share) < TOLERANCE, picks


def test_a_lower_tier_serves_only_when_no_higher_tier_target_is_available() -> None:
    config = group(Deployment("a:x"), Deployment("b:x"), Deployment("backup:x", 10, tier=2))
    assert set(first_picks(config)) == {"a:x", "b:x"}
    up = {"a:x": False, "b:x": True, "backup:x": True}
    assert set(first_picks(config, available=up.__getitem__)) == {"b:x"}
    up["b:x"] = False
    assert set(first_picks(config, available=up.__getitem__)) == {"backup:x"}
    up["backup:x"] = False
    nothing_up = order_group(
        config, available=up.__getitem__, in_flight={}.get, latency={}.get, rng=random.Random()
    )
    assert nothing_up == []


def test_least_busy_picks_the_fewest_in_flight_and_lowest_latency_the_fastest() -> None:
    busy = group(Deployment("a:x"), Deployment("b:x"), strategy="least-busy")
    assert set(first_picks(busy, in_flight={"a:x": 3, "b:x": 1}.get)) == {"b:x"}
    fast = group(Deployment("a:x"), Deployment("b:x"), Deployment("c:x"), strategy="lowest-latency")
    assert set(first_picks(fast, latency={"a:x": 0.9, "b:x": 0.2, "c:x": 0.5}.get)) == {"b:x"}
    # Not measured yet: tried first, so it gets a measurement.
    assert set(first_picks(fast, latency={"a:x": 0.9, "b:x": 0.2}.get)) == {"c:x"}


def test_the_static_choice_is_best_tier_then_heaviest() -> None:
    config = group(Deployment("a:x", 1), Deployment("b:x", 2), Deployment("c:x", 9, tier=2))
    assert [d.target for d in static_choice(config).order] == ["b:x", "a:x", "c:x"]


def test_a_breaker_opens_after_n_failures_in_the_window_half_opens_and_closes() -> None:
    board = BreakerBoard(BreakerPolicy(failures=3, window=10, cooldown=30))
    assert not board.failed("a", 0)
    assert not board.failed("a", 1)
    assert not board.failed("a", 12)  # the first two left the window: one counts
    assert not board.failed("a", 13)
    assert board.failed("a", 14)  # three within 10 s
    assert board.state("a", 20) == OPEN
    assert not board.available("a", 20)
    assert board.state("a", 44) == HALF_OPEN
    assert board.available("a", 44)
    board.begin("a", 44)  # the probe goes
    assert not board.available("a", 45)  # one probe at a time
    assert board.failed("a", 46)  # the probe failed: open again
    assert board.state("a", 70) == OPEN
    assert board.state("a", 77) == HALF_OPEN
    board.begin("a", 77)
    assert board.succeeded("a")
    assert board.state("a", 78) == CLOSED
    assert board.available("a", 78)


def test_a_429_cools_a_deployment_down_without_counting_as_a_failure() -> None:
    board = BreakerBoard(BreakerPolicy(failures=1))
    board.cool("a", 5.0)
    assert board.state("a", 1) == COOLING
    assert not board.available("a", 1)
    assert board.state("a", 5) == CLOSED
    assert board.available("a", 5)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"x-claude-code-session-id": "s-1"}, {}, "h:s-1"),
        ({"session-id": "codex-1", "thread-id": "t"}, {}, "h:codex-1"),
        ({}, {"prompt_cache_key": "pck"}, "b:pck"),
        ({}, {}, None),
    ],
)
def test_affinity_keys_come_from_session_headers_first(
    headers: dict[str, str], body: dict[str, object], expected: str | None
) -> None:
    assert affinity_key(headers, body) == expected


def test_without_a_session_the_conversation_opening_names_it() -> None:
    turn1 = {"model": "m", "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}
    turn2 = {**turn1, "messages": [*turn1["messages"], {"role": "assistant", "content": "yo"}]}
    other = {**turn1, "messages": [{"role": "user", "content": "bye"}]}
    assert affinity_key({}, turn1) == affinity_key({}, turn2) != affinity_key({}, other)


def test_pins_are_bounded() -> None:
    pins = AffinityPins(max_pins=2)
    pins.pin("g", "c1", "a")
    pins.pin("g", "c2", "b")
    pins.pin("g", "c3", "a")
    assert pins.get("g", "c1") is None
    assert pins.get("g", "c3") == "a"


def test_answers_between_failures_do_not_wipe_them() -> None:
    board = BreakerBoard(BreakerPolicy(failures=3, window=60))
    for now in (1.0, 2.0):
        assert not board.failed("a", now)
        assert not board.succeeded("a")  # closed stays closed; the failure still counts
    assert board.failed("a", 3.0)


def test_capacity_aware_puts_full_deployments_last_least_full_first() -> None:
    from routing.groups.capacity import CapacityCounters

    counters = CapacityCounters()
    east, west, north = (
        Deployment("east:x", rpm=2),
        Deployment("west:x", tpm=1000),
        Deployment("north:x", rpm=4),
    )
    config = group(east, west, north, strategy="capacity-aware")
    for _ in range(2):
        counters.add("east:x", 60.0, requests=1)
    counters.add("north:x", 60.0, requests=5)
    counters.add("west:x", 61.0, tokens=400)
    assert counters.load(east, "east:x", 70.0) == 1.0
    assert counters.load(west, "west:x", 70.0) == 0.4
    assert counters.load(east, "east:x", 120.0) == 0.0  # a new minute

    def load(deployment: Deployment) -> float:
        return counters.load(deployment, deployment.target, 70.0)

    order = order_group(
        config, available=lambda key: True, in_flight={}.get, latency={}.get, rng=random.Random(1), load=load
    )
    assert [d.target for d in order] == ["west:x", "east:x", "north:x"]  # east 1.0 < north 1.25
