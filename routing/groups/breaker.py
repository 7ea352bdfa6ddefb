"""A circuit breaker per group deployment, in this process. No I/O: times come in as
arguments (epoch seconds, so states written to Redis by another process compare).

- closed: serves. A failure (5xx, timeout, connection error) is remembered for
  ``window`` seconds; the ``failures``-th within the window opens it.
- open: skipped by the group until ``cooldown`` seconds have passed, then half-open.
- half-open: one probe request may go (while it runs the deployment is skipped); its
  success closes the breaker, its failure opens it for another cooldown.
- cooling: a 429 takes the deployment out for its ``retry-after`` (or the cooldown)
  without counting as a failure; then it is closed again, no probe needed.
"""

from collections import deque
from dataclasses import dataclass, field

CLOSED, OPEN, HALF_OPEN, COOLING = "closed", "open", "half-open", "cooling"
STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, COOLING: 2, OPEN: 3}  # what /metrics shows


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 5
    window: float = 60.0
    cooldown: float = 30.0
    # A probe that has not reported by then is presumed lost: another may go.
    probe_timeout: float = 120.0


@dataclass(slots=True)
class BreakerState:
    state: str = CLOSED
    until: float = 0.0  # open or cooling: until then
    failures: deque[float] = field(default_factory=deque)
    probe_started: float | None = None


class BreakerBoard:
    """Every deployment's breaker in this process, by deployment key."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self._states: dict[str, BreakerState] = {}

    def state(self, key: str, now: float) -> str:
        breaker = self._states.get(key)
        if breaker is None:
            return CLOSED
        self._advance(breaker, now)
        return breaker.state

    def available(self, key: str, now: float) -> bool:
        """Whether a request may go to ``key`` now (a half-open one: when no probe runs)."""
        breaker = self._states.get(key)
        if breaker is None:  # the usual case: never failed
            return True
        self._advance(breaker, now)
        if breaker.state == HALF_OPEN:
            started = breaker.probe_started
            return started is None or now - started > self.policy.probe_timeout
        return breaker.state == CLOSED

    def begin(self, key: str, now: float) -> None:
        """A request goes to ``key``: a half-open breaker's probe is now under way."""
        breaker = self._states.get(key)
        if breaker is not None and self.state(key, now) == HALF_OPEN:
            breaker.probe_started = now

    def succeeded(self, key: str) -> bool:
        """An answer from ``key``: a breaker that is not closed closes (True). A closed
        one keeps its failures: they count for their window, answers in between or not
        (a deployment failing every other request still opens)."""
        breaker = self._states.get(key)
        if breaker is None or breaker.state == CLOSED:
            return False
        self._states[key] = BreakerState()
        return True

    def failed(self, key: str, now: float) -> bool:
        """A 5xx, timeout or connection error; True when this opened the breaker."""
        breaker = self._states.setdefault(key, BreakerState())
        self._advance(breaker, now)
        if breaker.state == HALF_OPEN:
            self.open(key, now + self.policy.cooldown)
            return True
        if breaker.state in (OPEN, COOLING):
            return False
        breaker.failures.append(now)
        while breaker.failures and breaker.failures[0] <= now - self.policy.window:
            breaker.failures.popleft()
        if len(breaker.failures) >= self.policy.failures:
            self.open(key, now + self.policy.cooldown)
            return True
        return False

    def open(self, key: str, until: float) -> None:
        """Open ``key`` until ``until`` (also for an opening another process reported)."""
        breaker = self._states.setdefault(key, BreakerState())
        breaker.state, breaker.until, breaker.probe_started = OPEN, until, None
        breaker.failures.clear()

    def cool(self, key: str, until: float) -> None:
        """A 429: out until ``until``, not counted as a failure (an open breaker stays open)."""
        breaker = self._states.setdefault(key, BreakerState())
        if breaker.state != OPEN:
            breaker.state, breaker.until = COOLING, max(until, breaker.until)

    def until(self, key: str) -> float:
        breaker = self._states.get(key)
        return breaker.until if breaker is not None else 0.0

    def states(self, now: float) -> dict[str, str]:
        return {key: self.state(key, now) for key in self._states}

    def reset(self) -> None:
        self._states.clear()

    def _advance(self, breaker: BreakerState, now: float) -> None:
        if breaker.state == OPEN and now >= breaker.until:
            breaker.state, breaker.probe_started = HALF_OPEN, None
        elif breaker.state == COOLING and now >= breaker.until:
            breaker.state = CLOSED
