"""Usage accounting off the request path: record in memory, write in batches.

``usage_recorder.record()`` is a non-blocking append. A flusher task per event loop
writes batches with one ``bulk_create`` (in a worker thread) every
``VANDAMME_USAGE_FLUSH_SECONDS`` or as soon as a batch is full; a failed write keeps
its records for the next attempt, so a briefly slow database loses nothing. Memory is
bounded by ``VANDAMME_USAGE_BUFFER``: should the database stay away long enough to fill
it, the oldest records are dropped, counted and logged. What is left at process exit
is written by an ``atexit`` hook.
"""

import asyncio
import atexit
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, models, transaction
from django.utils import timezone

from teams.models import GatewayKey, UsageRecord

if TYPE_CHECKING:
    from django.db.models import Field

    UsageFields = tuple[Field[Any, Any], ...]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class UsageEvent:
    provider: str
    model_requested: str
    model_served: str
    status: int
    latency_ms: int
    streamed: bool
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    ttft_ms: int | None = None  # streams: time to the first chunk sent to the client
    error: str = ""  # an error answer's message (free of secrets)
    team_id: int | None = None
    team_name: str = ""
    key_prefix: str = ""
    key_id: int | None = None
    created_at: datetime = field(default_factory=timezone.now)


def _insert_statement() -> tuple[str, "UsageFields"]:
    """``INSERT INTO teams_usagerecord (…) VALUES (%s, …)`` and the fields it fills."""
    meta = UsageRecord._meta
    fields = tuple(field for field in meta.concrete_fields if not field.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Names from the model's own metadata, quoted; every value travels as a parameter.
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})", fields  # noqa: S608


def _rows(events: list[UsageEvent], fields: "UsageFields") -> list[tuple[Any, ...]]:
    """One parameter tuple per event, by the model's attribute names. Every value is an
    int, str, bool or None that the drivers take as is, but the time, which the backend
    adapts (SQLite stores text)."""
    adapt_time = connection.ops.adapt_datetimefield_value
    names = [field.attname for field in fields]
    timed = {index for index, field in enumerate(fields) if isinstance(field, models.DateTimeField)}
    return [
        tuple(
            adapt_time(getattr(event, name)) if index in timed else getattr(event, name)
            for index, name in enumerate(names)
        )
        for event in events
    ]


def _write(events: list[UsageEvent]) -> None:
    """One batch: the records, then the keys' last use (two statements in all).

    One ``executemany`` rather than ``bulk_create``: the ORM spent ~80 µs of Python per
    row building model instances and SQL (bench/: ~15% of the gateway's CPU at c=64), in
    a worker thread that holds the GIL the event loop needs; this is ~18 µs, mostly
    SQLite's own time with the GIL released.
    """
    try:
        sql, fields = _insert_statement()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, _rows(events, fields))
        key_ids = {event.key_id for event in events if event.key_id}
        if key_ids:
            GatewayKey.objects.filter(pk__in=key_ids).update(last_used_at=max(e.created_at for e in events))
    finally:
        if not connection.in_atomic_block:
            close_old_connections()


class UsageRecorder:
    def __init__(self) -> None:
        self._buffer: deque[UsageEvent] = deque()
        self._wakeups: dict[int, asyncio.Event] = {}
        self._flushers: dict[int, asyncio.Task[None]] = {}
        self.dropped = 0
        self.written = 0

    def reset(self) -> None:
        """Forget buffered records and flushers (tests; each test has its own loop and DB)."""
        for task in self._flushers.values():
            task.cancel()
        self._buffer.clear()
        self._flushers.clear()
        self._wakeups.clear()

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

    async def flush(self) -> int:
        """Write what is buffered now (not what arrives meanwhile: under steady traffic the
        writer would never rest); on failure the batch goes back to the front."""
        written = 0
        due = len(self._buffer)
        while written < due and self._buffer:
            batch = self._take_batch(due - written)
            try:
                await sync_to_async(_write, thread_sensitive=False)(batch)
            except Exception:
                logger.exception("writing %d usage records failed; will retry", len(batch))
                self._put_back(batch)
                break
            written += len(batch)
        self.written += written
        return written

    def flush_sync(self) -> int:
        """Write what is left, from a thread with no running loop (process exit)."""
        written = 0
        while self._buffer:
            batch = self._take_batch()
            _write(batch)
            written += len(batch)
        self.written += written
        return written


usage_recorder = UsageRecorder()


def _flush_at_exit() -> None:
    try:
        usage_recorder.flush_sync()
    except Exception:
        logger.exception("could not write %d usage records at exit", usage_recorder.pending)


atexit.register(_flush_at_exit)
