"""Writing usage batches: one ``executemany`` when all is well, row isolation when not.

A batch the database refuses because of one row's values (an ``IntegrityError``, a
``DataError``, a driver's ``OverflowError``…) must not hold back the others: the writer
first forgets teams deleted since the events were buffered (the raw INSERT bypasses the
foreign key's ``SET NULL``; the records keep ``team_name``), then splits the batch in
halves until the failing rows stand alone, and keeps those in ``UsageDeadLetter``. An
error that says nothing about the rows (the database is down: ``OperationalError``,
``InterfaceError``, or any other database error) stops the write and hands back what is
left, to be retried as a whole.
"""

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import DataError, IntegrityError, close_old_connections, connection, models, transaction

from routing.errors import scrub_secrets
from routing.usage_event import UsageEvent, clean_text
from teams.models import GatewayKey, Team, UsageDeadLetter, UsageRecord

if TYPE_CHECKING:
    from django.db.models import Field

    UsageFields = tuple[Field[Any, Any], ...]

logger = logging.getLogger(__name__)

# Errors caused by a row's values: retrying the same rows cannot help.
ROW_ERRORS = (IntegrityError, DataError, ValueError, TypeError, OverflowError)


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


def write(events: list[UsageEvent]) -> None:
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


@dataclass
class WriteOutcome:
    """What ``write_isolating`` did: rows written, rows dead-lettered, and the rows left
    unwritten (in order) by an error unrelated to them, which is ``error``."""

    written: int = 0
    dead: int = 0
    unwritten: list[UsageEvent] = field(default_factory=list)
    error: Exception | None = None


def write_isolating(events: list[UsageEvent]) -> WriteOutcome:
    """Write ``events``; a refused batch is repaired or split so only its bad rows fail."""
    outcome = WriteOutcome()
    todo = [events]  # a stack of chunks, the next one on top
    while todo:
        chunk = todo.pop()
        try:
            error = _attempt(chunk)
            if error is None:
                outcome.written += len(chunk)
            elif isinstance(error, IntegrityError) and _forget_deleted_teams(chunk):
                todo.append(chunk)
            elif len(chunk) > 1:
                middle = len(chunk) // 2
                todo += [chunk[middle:], chunk[:middle]]
            else:
                outcome.dead += _dead_letter(chunk[0], error)
        except Exception as error:  # the database, not the rows: keep the rest for later
            outcome.unwritten = chunk + [event for rest in reversed(todo) for event in rest]
            outcome.error = error
            break
    return outcome


def _attempt(chunk: list[UsageEvent]) -> Exception | None:
    """The error a chunk's rows caused, or None once written; other errors propagate."""
    try:
        write(chunk)
    except ROW_ERRORS as error:
        return error
    return None


def _forget_deleted_teams(events: list[UsageEvent]) -> bool:
    """Clear the team of events whose team was deleted since (its name stays)."""
    team_ids = {event.team_id for event in events if event.team_id is not None}
    if not team_ids:
        return False
    existing = set(Team.objects.filter(pk__in=team_ids).values_list("pk", flat=True))
    gone = [event for event in events if event.team_id is not None and event.team_id not in existing]
    for event in gone:
        event.team_id = None
    return bool(gone)


def error_text(error: BaseException) -> str:
    """An error's message as the logs and the dead-letter table keep it: one line, scrubbed."""
    return clean_text(scrub_secrets(" ".join(str(error).split())), 500)


def _dead_letter(event: UsageEvent, error: Exception) -> int:
    """Keep a refused event apart (1), or log it if even that is refused (0)."""
    document = json.dumps(event.as_json(), ensure_ascii=True)
    kind = type(error).__name__
    logger.error("usage record refused by the database (%s); kept in the dead-letter table", kind)
    try:
        UsageDeadLetter.objects.create(event=document, error_class=kind[:100], error=error_text(error))
    except ROW_ERRORS:
        logger.exception(
            "usage record dropped, the dead-letter table refused it too: %s", scrub_secrets(document)
        )
        return 0
    finally:
        if not connection.in_atomic_block:
            close_old_connections()
    return 1
