"""Key selection: round robin over a provider's keys, skipping keys that cool down.

State (cursor, cooldowns, failure streaks) is per gateway process and keyed by key
fingerprint, so it survives snapshot rebuilds. Failures are persisted to the ApiKey
row off the hot path (``routing.failover`` schedules the write) so the admin shows them.
A key whose streak reached ``DISABLE_AFTER`` and that a new snapshot still (or again)
holds was re-enabled (by an operator or a load): its streak starts over, or its next
failure would disable it again at once.
"""

import itertools
import time
from dataclasses import dataclass, field

from routing.table import KeyConfig, ProviderConfig

# Failures in a row (401, or a 403 that rejects the key) that disable a key.
DISABLE_AFTER = 5


@dataclass
class _KeyState:
    cooldown_until: float = 0.0
    consecutive_failures: int = 0


@dataclass
class _PoolState:
    cursor: "itertools.count[int]" = field(default_factory=itertools.count)
    keys: dict[str, _KeyState] = field(default_factory=dict)
    seen: tuple[KeyConfig, ...] = ()  # the snapshot's key tuple this state last saw


class KeyPools:
    """Per-process key pool state for every provider."""

    def __init__(self) -> None:
        self._pools: dict[str, _PoolState] = {}

    def reset(self) -> None:
        self._pools.clear()

    def _pool(self, provider: str) -> _PoolState:
        pool = self._pools.get(provider)
        if pool is None:
            pool = self._pools[provider] = _PoolState()
        return pool

    def candidates(self, provider: ProviderConfig) -> list[KeyConfig]:
        """The provider's keys in the order to try them for one request.

        Round robin: each request starts one key further. Keys cooling down go last, so
        a request still has a chance when every key is cooling. A key whose streak just
        disabled it is left out at once, before the snapshot without it arrives.
        """
        keys = provider.keys
        if not keys:
            return []
        pool = self._pool(provider.name)
        if pool.seen is not keys:  # a new snapshot: once per rebuild, not per request
            self._forgive_reenabled(pool, keys)
        start = next(pool.cursor) % len(keys)
        now = time.monotonic()
        ready: list[KeyConfig] = []
        cooling: list[KeyConfig] = []
        for key in keys[start:] + keys[:start]:
            state = pool.keys.get(key.fingerprint)
            if state is None:
                ready.append(key)
            elif state.consecutive_failures >= DISABLE_AFTER:
                continue  # disabled by its streak here: the snapshot without it is on its way
            elif state.cooldown_until > now:
                cooling.append(key)
            else:
                ready.append(key)
        return ready + cooling

    def is_cooling(self, provider: str, key: KeyConfig) -> bool:
        state = self._pool(provider).keys.get(key.fingerprint)
        return state is not None and state.cooldown_until > time.monotonic()

    def state(self, provider: str, key: KeyConfig) -> str:
        """``healthy``, ``cooling`` (until its cooldown ends, after a 401/403 or a 429) or
        ``failing`` (401/403 since its last success, cooldown over): what metrics and the
        dashboard show."""
        state = self._pool(provider).keys.get(key.fingerprint)
        if state is None:
            return "healthy"
        if state.cooldown_until > time.monotonic():
            return "cooling"
        return "failing" if state.consecutive_failures else "healthy"

    def report_success(self, provider: str, key: KeyConfig) -> bool:
        """A request through ``key`` succeeded: its failure streak and cooldown end.

        Returns whether there was anything to clear, so the caller writes the key's
        database record only after a failure, never on every success.
        """
        state = self._pool(provider).keys.get(key.fingerprint)
        if state is None or (state.consecutive_failures == 0 and state.cooldown_until == 0.0):
            return False
        state.consecutive_failures = 0
        state.cooldown_until = 0.0
        return True

    def report_failure(
        self, provider: str, key: KeyConfig, *, cooldown_seconds: float, in_streak: bool = True
    ) -> int:
        """Record a classified failure and cool the key down; returns its failure streak.

        ``in_streak=False`` (a 429: the key is valid, only busy) cools the key down
        without counting toward the streak that disables it.
        """
        state = self._state(self._pool(provider), key)
        if in_streak:
            state.consecutive_failures += 1
        state.cooldown_until = time.monotonic() + cooldown_seconds
        return state.consecutive_failures

    @staticmethod
    def _forgive_reenabled(pool: _PoolState, keys: tuple[KeyConfig, ...]) -> None:
        """Keys back in the pool (absent from the last snapshot this pool saw, or still
        present with a streak that disabled them) start with a clean state."""
        previous = {key.fingerprint for key in pool.seen}
        for key in keys:
            state = pool.keys.get(key.fingerprint)
            returned = bool(previous) and key.fingerprint not in previous
            if state is not None and (returned or state.consecutive_failures >= DISABLE_AFTER):
                del pool.keys[key.fingerprint]
        pool.seen = keys

    @staticmethod
    def _state(pool: _PoolState, key: KeyConfig) -> _KeyState:
        state = pool.keys.get(key.fingerprint)
        if state is None:
            state = pool.keys[key.fingerprint] = _KeyState()
        return state


key_pools = KeyPools()
