"""The routing snapshot's watcher: one pair of tasks per event loop, started by the first
request, so an idle process keeps its snapshot confirmed and its Redis breakers probed.

- every half ``VANDAMME_SNAPSHOT_TTL`` (every ``PROBE_SECONDS`` while a breaker is open):
  probe the open Redis breakers, then check the generation (Redis's copy, else the row);
- with Redis, every ``VANDAMME_GENERATION_DB_CHECK_SECONDS``: compare with the database
  row itself, in its own task, so a stalled database never delays the checks above.
Both run in a clean context: they outlive the request that starts them.
"""

import asyncio
import contextlib
import contextvars
from typing import TYPE_CHECKING

from django.conf import settings

from vandamme.redis_breaker import PROBE_SECONDS, redis_breakers

if TYPE_CHECKING:
    from routing.snapshot import SnapshotHolder


def _watch_interval() -> float:
    interval = settings.VANDAMME_SNAPSHOT_TTL / 2
    if any(breaker.is_open for breaker in redis_breakers()):
        interval = min(interval, PROBE_SECONDS)
    return interval


async def _watch_generation(holder: "SnapshotHolder") -> None:
    """Keep the table confirmed while the process is idle, and probe open Redis breakers."""
    while True:
        await asyncio.sleep(_watch_interval())
        for breaker in redis_breakers():
            await breaker.probe()
        with contextlib.suppress(Exception):  # logged by the check; tried again next tick
            await holder.check()


async def _watch_database(holder: "SnapshotHolder") -> None:
    """With Redis, also compare with the row itself now and then (Redis may have missed a bump)."""
    while True:
        await asyncio.sleep(settings.VANDAMME_GENERATION_DB_CHECK_SECONDS)
        if settings.REDIS_URL:  # without Redis, every check reads the row already
            with contextlib.suppress(Exception):
                await holder.verify_with_database()


def start_watcher(holder: "SnapshotHolder") -> None:
    """Start this event loop's watcher tasks, once (clean context: they outlive the request)."""
    loop = asyncio.get_running_loop()
    running = holder._watchers.get(id(loop))
    if running and all(task.get_loop() is loop and not task.done() for task in running):
        return
    holder._watchers[id(loop)] = [
        loop.create_task(watch(holder), context=contextvars.Context())
        for watch in (_watch_generation, _watch_database)
    ]
