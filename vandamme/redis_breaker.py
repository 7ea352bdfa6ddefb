"""Redis clients behind one circuit breaker per Redis URL, per process.

Every user of a Redis (the generation reader and publisher, the limit store) goes through
the breaker of its URL:
- closed: calls go to Redis with a short socket timeout (``VANDAMME_REDIS_TIMEOUT``) and
  no retries, so a frozen Redis costs one call that timeout, not seconds;
- a failed call opens it: nobody calls that Redis until a probe answers; callers fall back
  (the generation is read from the database, limits are counted in process memory);
- the routing snapshot's watcher probes an open breaker (PING, same timeout) every
  ``PROBE_SECONDS``, so no request ever waits for a probe; the first answer closes it.
Each opening bumps ``epoch``: clients made before it are dropped and made afresh, since
their pooled connections may be dead (a restarted Redis) and would fail one by one.

redis-py is imported only when a client is made: a gateway without Redis never loads it.
"""

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings

if TYPE_CHECKING:
    import redis
    import redis.asyncio

logger = logging.getLogger(__name__)

PROBE_SECONDS = 0.25


def redis_location(url: str) -> str:
    """``host:port/db``: what a log line may say about a Redis URL (never its password)."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "0"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}/{database}"


def redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


# Connections one process keeps to one Redis. A burst of calls waits for a free one
# (a blocking pool): redis-py's plain pool raises MaxConnectionsError at its cap, which
# opened the breaker under 200 concurrent admissions and let limits be counted per process.
POOL_CONNECTIONS = 64


def async_client(url: str, timeout: float | None = None) -> "redis.asyncio.Redis":
    """A client that gives up after one short timeout: no retries, no backoff."""
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    seconds = settings.VANDAMME_REDIS_TIMEOUT if timeout is None else timeout
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=POOL_CONNECTIONS,
        timeout=max(seconds, 1.0),  # waiting for our own burst to drain is not an outage
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


def sync_client(url: str, timeout: float | None = None) -> "redis.Redis":
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    seconds = settings.VANDAMME_REDIS_TIMEOUT if timeout is None else timeout
    return Redis.from_url(
        url,
        socket_timeout=seconds,
        socket_connect_timeout=seconds,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


class RedisBreaker:
    """The state of one Redis URL as this process sees it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_open = False
        self.epoch = 0
        self.opened_at = 0.0
        self._last_probe = 0.0

    @property
    def closed(self) -> bool:
        return not self.is_open

    def failed(self, exc: BaseException) -> None:
        self.epoch += 1
        if not self.is_open:
            logger.warning(
                "Redis at %s does not answer (%s): serving without it (configuration checked "
                "in the database, limits counted in this process) until it answers",
                redis_location(self.url),
                type(exc).__name__,
            )
            self.is_open = True
            self.opened_at = time.monotonic()

    def succeeded(self) -> None:
        if self.is_open:
            logger.warning("Redis at %s answers again: using it", redis_location(self.url))
            self.is_open = False

    async def probe(self) -> None:
        """PING an open breaker's Redis (at most every ``PROBE_SECONDS``); close it if it answers."""
        now = time.monotonic()
        if not self.is_open or now - self._last_probe < PROBE_SECONDS:
            return
        self._last_probe = now
        client = async_client(self.url)
        try:
            await client.ping()
        except redis_errors():
            return  # still down: it stays open
        finally:
            try:
                await client.aclose()
            except redis_errors():
                pass
        self.succeeded()


_breakers: dict[str, RedisBreaker] = {}


def redis_breaker(url: str) -> RedisBreaker:
    breaker = _breakers.get(url)
    if breaker is None:
        breaker = _breakers[url] = RedisBreaker(url)
    return breaker


def redis_breakers() -> list[RedisBreaker]:
    return list(_breakers.values())


def redis_breakers_reset() -> None:
    """Forget every breaker (tests)."""
    _breakers.clear()
