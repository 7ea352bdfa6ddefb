"""Usage accounting off the request path: record in memory, write in batches.

``usage_recorder.record()`` is a non-blocking append. A flusher task per event loop
writes batches (``routing.usage_writer``: one ``executemany`` in a worker thread) every
``VANDAMME_USAGE_FLUSH_SECONDS`` or as soon as a batch is full. A row the database
refuses for its values goes to the dead-letter table and never blocks the others; a
database that is away keeps the batch for the next attempt, so a briefly slow or absent
database loses nothing. Memory is bounded by ``VANDAMME_USAGE_BUFFER``: should the
database stay away long enough to fill it, the oldest records are dropped, counted and
logged. At shutdown (``shutdown()``, and an ``atexit`` hook for what is left) the buffer
is written, or spooled to local disk if the database is unreachable
(``routing.usage_spool``); the first flush of the next process replays the spool.
"""

import asyncio
import atexit
import contextlib
import logging
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings

from routing import usage_spool, usage_writer
from routing.usage_event import UsageEvent
from routing.usage_writer import WriteOutcome

__all__ = ["UsageEvent", "UsageRecorder", "usage_recorder"]

logger = logging.getLogger(__name__)


class UsageRecorder:
    def __init__(self) -> None:
        self._buffer: deque[UsageEvent] = deque()
        self._wakeups: dict[int, asyncio.Event] = {}
        self._flushers: dict[int, asyncio.Task[None]] = {}
        self.dropped = 0
        self.written = 0
        self._replay_due = True  # a previous process may have left a spool

    def reset(self) -> None:
        """Forget buffered records and flushers (tests; each test has its own loop and DB)."""
        for task in self._flushers.values():
            task.cancel()
        self._buffer.clear()
        self._flushers.clear()
        self._wakeups.clear()
        self._replay_due = True

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def record(self, event: UsageEvent) -> None:
        """Non-blocking: buffer the event and make sure a flusher runs on this loop."""
        if len(self._buffer) >= settings.VANDAMME_USAGE_BUFFER:
            self._buffer.popleft()
            self.dropped += 1
            logger.error("usage buffer full: dropped the oldest record (%d dropped so far)", self.dropped)
        self._buffer.append(event)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (management command, tests): flush() or exit writes it
        self._ensure_flusher(loop)
        if len(self._buffer) >= settings.VANDAMME_USAGE_BATCH:
            self._wakeups[id(loop)].set()

    def _ensure_flusher(self, loop: asyncio.AbstractEventLoop) -> None:
        key = id(loop)
        task = self._flushers.get(key)
        if task is None or task.done():
            self._wakeups[key] = asyncio.Event()
            self._flushers[key] = loop.create_task(self._flush_forever(self._wakeups[key]))

    async def _flush_forever(self, wakeup: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # woken early by a full batch, else on the tick
                await asyncio.wait_for(wakeup.wait(), timeout=settings.VANDAMME_USAGE_FLUSH_SECONDS)
            wakeup.clear()
            await self.flush()

    def _take_batch(self, most: int | None = None) -> list[UsageEvent]:
        size = min(len(self._buffer), settings.VANDAMME_USAGE_BATCH, most or len(self._buffer))
        return [self._buffer.popleft() for _ in range(size)]

    def _put_back(self, batch: list[UsageEvent]) -> None:
        self._buffer.extendleft(reversed(batch))

    def _settle(self, outcome: WriteOutcome) -> bool:
        """Keep what a failed write left (at the front, in order); True if all went in."""
        if outcome.error is None:
            return True
        self._put_back(outcome.unwritten)
        logger.error(
            "writing usage failed (%s: %s); %d records kept for the next attempt",
            type(outcome.error).__name__,
            usage_writer.error_text(outcome.error),
            len(outcome.unwritten),
        )
        return False

    async def flush(self) -> int:
        """Write what is buffered now (not what arrives meanwhile: under steady traffic the
        writer would never rest), after the spool of a previous process if there is one.
        On a database failure the rest of the batch goes back to the front."""
        if self._replay_due:
            replayed = await sync_to_async(self._replay, thread_sensitive=False)()
            self._replay_due = not replayed.done
        written = 0
        due = len(self._buffer)
        while due > 0 and self._buffer:
            batch = self._take_batch(due)
            due -= len(batch)
            outcome = await sync_to_async(usage_writer.write_isolating, thread_sensitive=False)(batch)
            written += outcome.written
            if not self._settle(outcome):
                break
        self.written += written
        return written

    def _replay(self) -> usage_spool.ReplayOutcome:
        outcome = usage_spool.replay(usage_writer.write_isolating, settings.VANDAMME_USAGE_BATCH)
        self.written += outcome.written
        return outcome

    def flush_sync(self) -> int:
        """Write what is left, from a thread with no running loop (process exit)."""
        written = 0
        while self._buffer:
            outcome = usage_writer.write_isolating(self._take_batch())
            written += outcome.written
            if not self._settle(outcome):
                break
        self.written += written
        return written

    def spool_pending(self) -> int:
        """Put what is still buffered (the database was unreachable) in a spool file for
        the next start; returns how many records went there."""
        events = list(self._buffer)
        if not events:
            return 0
        try:
            path = usage_spool.spool(events)
        except OSError as error:
            logger.error("could not spool %d usage records (%s); they are lost", len(events), error)
            return 0
        self._buffer.clear()
        logger.warning("%d usage records spooled to %s; the next start writes them", len(events), path)
        return len(events)

    async def shutdown(self) -> None:
        """At process shutdown: write the buffer, or spool what the database refused."""
        await self.flush()
        self.spool_pending()


usage_recorder = UsageRecorder()


def _flush_at_exit() -> None:
    usage_recorder.flush_sync()
    usage_recorder.spool_pending()


atexit.register(_flush_at_exit)
