"""The configuration generation: a counter every gateway process watches.

Any committed change to providers, keys or aliases bumps it; a process whose routing
snapshot was built for an older generation rebuilds it. The counter lives in the
default cache: local memory for one process, Redis when several share ``REDIS_URL``.
"""

from django.core.cache import cache
from django.db import transaction

GENERATION_CACHE_KEY = "config-generation"


def config_generation_get() -> int:
    value = cache.get(GENERATION_CACHE_KEY)
    return int(value) if value is not None else 0


async def config_generation_aget() -> int:
    value = await cache.aget(GENERATION_CACHE_KEY)
    return int(value) if value is not None else 0


def _bump_now() -> None:
    try:
        cache.incr(GENERATION_CACHE_KEY)
    except ValueError:  # the key does not exist yet (or was evicted)
        cache.set(GENERATION_CACHE_KEY, 1, timeout=None)


def config_generation_bump() -> None:
    """Bump once the surrounding transaction commits (immediately outside one)."""
    transaction.on_commit(_bump_now)
