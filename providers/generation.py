"""The configuration generation: a counter every gateway process watches.

The database row is the source of truth: every committed change to providers, keys,
aliases or teams bumps it (right after the commit, in ``on_commit``). With ``REDIS_URL``
set, Redis holds a copy so processes can check it cheaply every half second; a process
that finds Redis missing, lower or otherwise different from what it knows reads the row
and rewrites the copy, and each process compares with the row itself every
``VANDAMME_GENERATION_DB_CHECK_SECONDS`` (a ``load_config`` job run without
``REDIS_URL``, or a Redis restarted from an older dump, cannot hide a change for good).
Redis calls go through its circuit breaker (``vandamme.redis_breaker``): when Redis is
down the row is read instead, and a bump never fails because of Redis.
"""

import asyncio
import time
import weakref
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F

from providers.models import ConfigGeneration
from vandamme.redis_breaker import async_client, redis_breaker, redis_errors, sync_client

if TYPE_CHECKING:
    import redis.asyncio

GENERATION_KEY = "vandamme:config-generation"

# Seconds between tries of a bump that found the database locked (about 0.6 s in all).
BUMP_RETRY_WAITS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.3)

# Raise the copy, never lower it: two commits' publishes may arrive out of order.
PUBLISH_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class RedisUnavailable(Exception):
    """Redis is not configured, its breaker is open, or the call just failed."""


def config_generation_get() -> int:
    """The generation from the database (sync)."""
    row = ConfigGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return int(row) if row is not None else 0


def _read_and_release_connection() -> int:
    """Read, then close this thread's connection: the caller runs outside Django's request
    cycle (no ``request_finished`` to close it), in a thread that may not be reused."""
    try:
        return config_generation_get()
    finally:
        if not connection.in_atomic_block:
            connection.close()


async def config_generation_db_aget() -> int:
    return await sync_to_async(_read_and_release_connection, thread_sensitive=True)()


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, redis.asyncio.Redis]]" = (
    weakref.WeakKeyDictionary()
)

_closing: set["asyncio.Task[None]"] = set()


def _client(url: str) -> "redis.asyncio.Redis":
    """This loop's client, made afresh after every breaker opening (dead pooled connections)."""
    loop = asyncio.get_running_loop()
    epoch = redis_breaker(url).epoch
    held = _clients.get(loop)
    if held is not None and held[0] == epoch:
        return held[1]
    if held is not None:
        closing = loop.create_task(_close_quietly(held[1]))
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)
    client = async_client(url)
    _clients[loop] = (epoch, client)
    return client


async def _close_quietly(client: "redis.asyncio.Redis") -> None:
    try:
        await client.aclose()
    except redis_errors():
        pass


async def config_generation_redis_aget() -> int | None:
    """Redis's copy (None when it holds none); ``RedisUnavailable`` when it cannot say."""
    url = settings.REDIS_URL
    breaker = redis_breaker(url) if url else None
    if breaker is None or breaker.is_open:
        raise RedisUnavailable
    try:
        value = await _client(url).get(GENERATION_KEY)
    except redis_errors() as exc:
        breaker.failed(exc)
        raise RedisUnavailable from exc
    breaker.succeeded()
    return int(value) if value is not None else None


async def config_generation_redis_repair(value: int) -> None:
    """Make Redis's copy the database's ``value`` (best effort: the row stays the truth)."""
    url = settings.REDIS_URL
    if not url or redis_breaker(url).is_open:
        return
    try:
        await _client(url).set(GENERATION_KEY, value)
    except redis_errors() as exc:
        redis_breaker(url).failed(exc)


def _publish(value: int) -> None:
    """Raise Redis's copy to ``value``. Tried even with the breaker open (a control-plane
    write may wait one short timeout), so the other processes hear of it at once."""
    url = settings.REDIS_URL
    if not url:
        return
    breaker = redis_breaker(url)
    client = sync_client(url)
    try:
        client.eval(PUBLISH_SCRIPT, 1, GENERATION_KEY, value)
    except redis_errors() as exc:
        breaker.failed(exc)
    else:
        breaker.succeeded()
    finally:
        client.close()


def _bump_now() -> None:
    """Raise the row, then Redis's copy. A locked database (SQLite while another writer
    holds it) is tried again for a moment: a lost bump would leave every process on the
    old configuration until some later change, the change itself being committed."""
    for wait in (*BUMP_RETRY_WAITS, None):
        try:
            with transaction.atomic():
                updated = ConfigGeneration.objects.filter(pk=1).update(value=F("value") + 1)
                if not updated:
                    ConfigGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
            break
        except OperationalError:
            if wait is None:
                raise
            time.sleep(wait)
    _publish(config_generation_get())


def config_generation_bump() -> None:
    """Bump once the surrounding transaction commits (immediately outside one)."""
    transaction.on_commit(_bump_now)
