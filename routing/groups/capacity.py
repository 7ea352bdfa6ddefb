"""Requests and tokens per minute per group deployment, for the ``capacity-aware``
strategy. No I/O: times come in as arguments.

Counted per calendar minute (UTC epoch minute). A deployment's *load* is the larger of
its requests/rpm and tokens/tpm this minute (0 without capacities); at 1 it is full. With
Redis the counts are every process's (``routing.groups.shared`` adds them there and reads
the totals back), else this process's.
"""

from dataclasses import dataclass

from providers.groups import Deployment


def minute_of(now: float) -> int:
    return int(now // 60)


@dataclass(slots=True)
class MinuteCount:
    minute: int
    requests: int = 0
    tokens: int = 0


class CapacityCounters:
    def __init__(self) -> None:
        self._counts: dict[str, MinuteCount] = {}

    def _current(self, key: str, now: float) -> MinuteCount:
        minute = minute_of(now)
        count = self._counts.get(key)
        if count is None or count.minute != minute:
            count = self._counts[key] = MinuteCount(minute)
        return count

    def add(self, key: str, now: float, *, requests: int = 0, tokens: int = 0) -> None:
        count = self._current(key, now)
        count.requests += requests
        count.tokens += tokens

    def used(self, key: str, now: float) -> tuple[int, int]:
        count = self._counts.get(key)
        if count is None or count.minute != minute_of(now):
            return 0, 0
        return count.requests, count.tokens

    def set_totals(self, key: str, minute: int, requests: int, tokens: int) -> None:
        """Every process's totals for ``minute`` (read from Redis): never below our own."""
        count = self._counts.get(key)
        if count is None or count.minute != minute:
            self._counts[key] = MinuteCount(minute, requests, tokens)
        else:
            count.requests, count.tokens = max(count.requests, requests), max(count.tokens, tokens)

    def load(self, deployment: Deployment, key: str, now: float) -> float:
        """The fuller of its two capacities this minute (0: none declared, or unused)."""
        if deployment.rpm is None and deployment.tpm is None:
            return 0.0
        requests, tokens = self.used(key, now)
        by_requests = requests / deployment.rpm if deployment.rpm else 0.0
        by_tokens = tokens / deployment.tpm if deployment.tpm else 0.0
        return max(by_requests, by_tokens)

    def reset(self) -> None:
        self._counts.clear()
