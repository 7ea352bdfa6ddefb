"""This process's view of its groups' deployments: requests in flight, an EWMA of time
to first token, circuit breakers and affinity pins; and the choice made from them.

Counters are per process (a least-busy choice sees this process's load). Breakers and
the per-minute capacity counts are shared through Redis when one is configured
(``routing.groups.shared``).
"""

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from providers.groups import GroupConfig
from routing.groups.affinity import AffinityPins
from routing.groups.breaker import HALF_OPEN, BreakerBoard, BreakerPolicy
from routing.groups.capacity import CapacityCounters
from routing.groups.strategies import GroupChoice, deployment_key, order_group

logger = logging.getLogger(__name__)

# Weight of the newest time-to-first-token sample: about the last 5 requests count.
EWMA_ALPHA = 0.3


class ConversationSource(Protocol):
    def affinity_key(self) -> str | None: ...


class GroupRouter:
    """One per process: ``group_router``."""

    def __init__(self, policy: BreakerPolicy | None = None, rng: random.Random | None = None) -> None:
        self.board = BreakerBoard(policy)
        self.rng = rng or random.Random()  # noqa: S311  (load spreading, not cryptography)
        self.in_flight: dict[str, int] = {}
        self.latency: dict[str, float] = {}  # EWMA seconds to first token
        self.pins = AffinityPins()
        self.capacity = CapacityCounters()
        self.listeners: list[BreakerListener] = []
        self._shared: bool | None = None  # None: not looked at the settings yet

    def share_through_redis(self) -> None:
        """Once: share breaker states through ``VANDAMME_GROUPS_REDIS_URL`` when set."""
        from routing.groups.shared import RedisGroupShare  # only with groups in use

        url = settings.VANDAMME_GROUPS_REDIS_URL
        self._shared = bool(url)
        if url:
            self.listeners.append(RedisGroupShare(url, self.board, self.capacity))

    def _start_health_checks(self) -> None:
        from routing.groups.health import start_health_checks  # it reaches the request path

        start_health_checks(self)

    def choose(self, group: GroupConfig, source: ConversationSource | None = None) -> GroupChoice:
        now = time.time()
        if self._shared is None:
            self.share_through_redis()
            self._start_health_checks()
        for listener in self.listeners:
            listener.watching(group, now)
        keep = source is not None and group.affinity and settings.VANDAMME_GROUP_AFFINITY
        conversation = source.affinity_key() if keep and source is not None else None
        pinned = self.pins.get(group.name, conversation) if conversation else None
        order = order_group(
            group,
            available=lambda key: self.board.available(key, now),
            in_flight=self.in_flight.get,
            latency=self.latency.get,
            rng=self.rng,
            pinned=pinned,
            load=lambda deployment: self.capacity.load(deployment, deployment_key(deployment), now),
        )
        if not order:
            return GroupChoice(group, (), conversation, retry_after=self._retry_after(group, now))
        was_pinned = pinned is not None and deployment_key(order[0]) == pinned
        return GroupChoice(group, tuple(order), conversation, pinned=was_pinned)

    def _retry_after(self, group: GroupConfig, now: float) -> float:
        states = self.board.states(now)
        keys = [deployment_key(deployment) for deployment in group.deployments]
        waits = [self.board.until(key) - now for key in keys if key in states]
        return max(1.0, min(waits, default=1.0))

    def start(self, choice: GroupChoice) -> "GroupCall":
        return GroupCall(self, choice)

    def begin(self, key: str) -> None:
        now = time.time()
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.board.begin(key, now)
        self.count(key, now, requests=1)

    def count(self, key: str, now: float, *, requests: int = 0, tokens: int = 0) -> None:
        """A request sent to ``key``, or the tokens one used: this minute's capacity."""
        self.capacity.add(key, now, requests=requests, tokens=tokens)
        for listener in self.listeners:
            listener.counted(key, now, requests, tokens)

    def end(self, key: str) -> None:
        left = self.in_flight.get(key, 0) - 1
        if left > 0:
            self.in_flight[key] = left
        else:
            self.in_flight.pop(key, None)

    def succeeded(self, key: str, seconds_to_first_token: float) -> None:
        previous = self.latency.get(key)
        self.latency[key] = (
            seconds_to_first_token
            if previous is None
            else EWMA_ALPHA * seconds_to_first_token + (1 - EWMA_ALPHA) * previous
        )
        self.answered(key)

    def answered(self, key: str) -> None:
        """``key`` answered: a breaker that was not closed (a probe's answer) closes."""
        if self.board.succeeded(key):
            logger.warning("group deployment %s answers again: its circuit breaker is closed", key)
            for listener in self.listeners:
                listener.closed(key)

    def failed(self, key: str, status: int, retry_after: float | None) -> None:
        now = time.time()
        if status == 429:
            until = now + (retry_after if retry_after is not None else self.board.policy.cooldown)
            self.board.cool(key, until)
            for listener in self.listeners:
                listener.cooled(key, until)
        elif status >= 500 or status == 408:
            if self.board.failed(key, now):
                until = self.board.until(key)
                logger.warning("group deployment %s failed (%s): circuit breaker open", key, status)
                for listener in self.listeners:
                    listener.opened(key, until)
        elif self.board.state(key, now) == HALF_OPEN:  # a 4xx about the request: the probe was answered
            self.answered(key)

    def breaker_state(self, key: str) -> str:
        return self.board.state(key, time.time())

    def breaker_states(self) -> Mapping[str, str]:
        return self.board.states(time.time())

    def reset(self, policy: BreakerPolicy | None = None) -> None:
        """Forget every counter, breaker and pin (tests); ``policy`` replaces the breakers'."""
        self.board = BreakerBoard(policy or self.board.policy)
        self.listeners.clear()
        self._shared = None
        self.in_flight.clear()
        self.latency.clear()
        self.pins.reset()
        self.capacity.reset()


class BreakerListener(Protocol):
    """Who else hears of breaker changes (the Redis sharing)."""

    def watching(self, group: GroupConfig, now: float) -> None: ...
    def opened(self, key: str, until: float) -> None: ...
    def cooled(self, key: str, until: float) -> None: ...
    def closed(self, key: str) -> None: ...
    def counted(self, key: str, now: float, requests: int, tokens: int) -> None: ...


@dataclass
class GroupCall:
    """One request to a group: the deployment it is on now, and when it started there."""

    router: GroupRouter
    choice: GroupChoice
    attempt: str | None = None  # the deployment tried last
    current: str | None = None  # the deployment counted in flight (until ``end``)
    started: float = 0.0

    def begin(self, key: str) -> None:
        self.end()
        self.attempt = self.current = key
        self.started = time.perf_counter()
        self.router.begin(key)

    def succeeded(self) -> None:
        """The deployment answered (a stream's first frame, or a whole answer): its time
        to first token feeds the EWMA, and the conversation stays on it."""
        if self.attempt is None:
            return
        self.router.succeeded(self.attempt, time.perf_counter() - self.started)
        if self.choice.conversation:
            self.router.pins.pin(self.choice.group.name, self.choice.conversation, self.attempt)

    def leave_group(self) -> None:
        """The call moved to an alias fallback outside the group: nothing more counts."""
        self.end()
        self.attempt = None

    def used_tokens(self, tokens: int) -> None:
        """The call's tokens, once known (its end): counted against the serving target."""
        if self.attempt is not None and tokens > 0:
            self.router.count(self.attempt, time.time(), tokens=tokens)

    def failed(self, status: int, retry_after: float | None) -> None:
        if self.attempt is not None:
            self.router.failed(self.attempt, status, retry_after)
        self.end()

    def end(self) -> None:
        """The request left this deployment (answered, failed or moved on); idempotent."""
        if self.current is not None:
            self.router.end(self.current)
            self.current = None


def breaker_policy() -> BreakerPolicy:
    return BreakerPolicy(
        failures=settings.VANDAMME_GROUP_BREAKER_FAILURES,
        window=settings.VANDAMME_GROUP_BREAKER_WINDOW_SECONDS,
        cooldown=settings.VANDAMME_GROUP_BREAKER_COOLDOWN_SECONDS,
    )


group_router = GroupRouter(breaker_policy())
