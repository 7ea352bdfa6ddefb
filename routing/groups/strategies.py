"""How a group orders its deployments for one request. Pure: the counters come in as
functions, randomness as a ``random.Random``.

The first deployment of the order serves; the rest are the group's own fallbacks, in
order, before the alias's fallbacks. Tiers come first: tier 1's available deployments,
then tier 2's, and so on; within a tier the strategy orders them:
- ``weighted-random``: a weighted shuffle (each deployment's chance to come first is
  its share of the tier's weight);
- ``least-busy``: the fewest requests in flight first; ties by a weighted shuffle;
- ``lowest-latency``: the lowest EWMA of time to first token first; a deployment
  with no measurement yet counts as fastest (so it gets measured); ties as above;
- ``capacity-aware``: deployments under their RPM/TPM first, in a weighted shuffle;
  full ones (load ≥ 1) after them, least full first: still fallbacks, since the gateway
  keeps serving when every deployment is full (their own 429s then cool them down).
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from providers.groups import Deployment, GroupConfig

Counter = Callable[[str], float | None]
Load = Callable[[Deployment], float]


def no_load(deployment: Deployment) -> float:
    return 0.0


def deployment_key(deployment: Deployment) -> str:
    """What counters, breakers and affinity pins are kept under: the target as written."""
    return deployment.target.lower()


def weighted_shuffle(deployments: Sequence[Deployment], rng: random.Random) -> list[Deployment]:
    """Efraimidis–Spirakis: sort by ``u ** (1 / weight)``, largest first; the first is drawn
    with probability weight / total, and so on without replacement."""
    if len(deployments) == 1:
        return list(deployments)
    keyed = [
        (rng.random() ** (1.0 / deployment.weight), index) for index, deployment in enumerate(deployments)
    ]
    keyed.sort(reverse=True)
    return [deployments[index] for _, index in keyed]


def _fullness(load: float) -> float:
    """Capacity-aware's sort key: 0 for every deployment under capacity (their shuffled
    order stands), the load itself for a full one (≥ 1)."""
    return load if load >= 1 else 0.0


def order_tier(
    deployments: Sequence[Deployment],
    strategy: str,
    *,
    in_flight: Counter,
    latency: Counter,
    rng: random.Random,
    load: Load = no_load,
) -> list[Deployment]:
    """One tier's deployments in the order ``strategy`` tries them."""
    shuffled = weighted_shuffle(deployments, rng)
    if strategy == "capacity-aware":
        return sorted(shuffled, key=lambda deployment: _fullness(load(deployment)))
    if strategy == "least-busy":
        return sorted(shuffled, key=lambda deployment: in_flight(deployment_key(deployment)) or 0)
    if strategy == "lowest-latency":
        return sorted(shuffled, key=lambda deployment: latency(deployment_key(deployment)) or 0.0)
    return shuffled


def order_group(
    group: GroupConfig,
    *,
    available: Callable[[str], bool],
    in_flight: Counter,
    latency: Counter,
    rng: random.Random,
    pinned: str | None = None,
    load: Load = no_load,
) -> list[Deployment]:
    """The available deployments, best tier first, each tier ordered by the strategy.
    ``pinned`` (a conversation's deployment, by key) goes first when it is available and
    in the best tier that has any available deployment."""
    ordered: list[Deployment] = []
    for tier in group.tiers:
        members = [
            deployment
            for deployment in group.deployments
            if deployment.tier == tier and available(deployment_key(deployment))
        ]
        if members:
            ordered.extend(
                order_tier(members, group.strategy, in_flight=in_flight, latency=latency, rng=rng, load=load)
            )
    if pinned is not None and ordered:
        best_tier = ordered[0].tier
        for index, deployment in enumerate(ordered):
            if deployment.tier != best_tier:
                break
            if deployment_key(deployment) == pinned and load(deployment) < 1:
                ordered.insert(0, ordered.pop(index))
                break
    return ordered


@dataclass(frozen=True, slots=True)
class GroupChoice:
    """What a group chose for one request: ``order[0]`` serves, the rest are its fallbacks."""

    group: GroupConfig
    order: tuple[Deployment, ...]
    conversation: str | None = None  # the affinity key, when affinity applies
    pinned: bool = False  # order[0] is where this conversation was served before
    retry_after: float = 0.0  # nothing available: seconds until a breaker half-opens

    @property
    def member_keys(self) -> frozenset[str]:
        return frozenset(deployment_key(deployment) for deployment in self.group.deployments)


def static_choice(group: GroupConfig) -> GroupChoice:
    """The choice with no counters and no randomness (tests, and code with no router):
    best tier first, then the heaviest weight, then the order written."""
    order = sorted(group.deployments, key=lambda deployment: (deployment.tier, -deployment.weight))
    return GroupChoice(group, tuple(order))


def choice_summary(choice: GroupChoice, breakers: Callable[[str], str]) -> dict[str, object]:
    """What ``/v1/vandamme/resolve`` and ``manage.py resolve_model`` show of a group."""
    group = choice.group
    return {
        "name": group.name,
        "strategy": group.strategy,
        "targets": [
            {**deployment.as_dict(), "breaker": breakers(deployment_key(deployment))}
            for deployment in group.deployments
        ],
        "chosen": choice.order[0].target,
        "order": [deployment.target for deployment in choice.order],
        "pinned": choice.pinned,
    }
