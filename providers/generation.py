"""The configuration generation: a counter every gateway process watches.

Any committed change to providers, keys or aliases bumps it; a process whose routing
snapshot was built for an older generation rebuilds it. Processes share the counter
through Redis when ``REDIS_URL`` is set, else through a one-row table (one query per
``VANDAMME_SNAPSHOT_TTL`` per process, never one per request).
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F

from providers.models import ConfigGeneration

GENERATION_CACHE_KEY = "config-generation"


def _shared_through_cache() -> bool:
    return bool(settings.REDIS_URL)


def config_generation_get() -> int:
    if _shared_through_cache():
        value = cache.get(GENERATION_CACHE_KEY)
        return int(value) if value is not None else 0
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


async def config_generation_aget() -> int:
    if _shared_through_cache():
        value = await cache.aget(GENERATION_CACHE_KEY)
        return int(value) if value is not None else 0
    return await sync_to_async(_read_and_release_connection, thread_sensitive=True)()


def _bump_now() -> None:
    updated = ConfigGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        ConfigGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
    if _shared_through_cache():
        try:
            cache.incr(GENERATION_CACHE_KEY)
        except ValueError:  # not in the cache yet (or evicted): seed it from the table
            cache.set(GENERATION_CACHE_KEY, ConfigGeneration.objects.get(pk=1).value, timeout=None)


def config_generation_bump() -> None:
    """Bump once the surrounding transaction commits (immediately outside one)."""
    transaction.on_commit(_bump_now)
