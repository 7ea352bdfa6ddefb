"""Pure limit maths: rolling one-minute windows and calendar budget periods (UTC).

A window is kept as buckets of ``BUCKET_SECONDS``: bucket ``b`` holds what was counted
from ``b * BUCKET_SECONDS`` on, and stays in the window until the bucket
``BUCKETS_PER_WINDOW`` further begins. So a limit of N per minute admits at most N in
any 60 buckets, and what is counted frees up one minute (to the bucket) later, which
is what ``retry-after`` tells a refused client. Memory per counter is bounded by the
bucket count, whatever the limit.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

WINDOW_SECONDS = 60
BUCKET_SECONDS = 1
BUCKETS_PER_WINDOW = WINDOW_SECONDS // BUCKET_SECONDS

PERIODS = ("day", "week", "month")


def bucket_at(now: float) -> int:
    return int(now // BUCKET_SECONDS)


def in_window(bucket: int, current: int) -> bool:
    """Still counted at bucket ``current``. Later buckets count too: another process's
    clock may run a little ahead."""
    return bucket > current - BUCKETS_PER_WINDOW


def live_buckets(buckets: Mapping[int, int], current: int) -> dict[int, int]:
    return {bucket: count for bucket, count in buckets.items() if in_window(bucket, current)}


def window_total(buckets: Mapping[int, int], current: int) -> int:
    return sum(count for bucket, count in buckets.items() if in_window(bucket, current))


def excess(total: int, limit: int, cost: int) -> int:
    """How much must leave the window before a call of ``cost`` fits (> 0: refused).

    A cost of 0 (tokens, counted only once the answer is known) still needs room for
    one: a client under its token limit may go, one at or over it waits.
    """
    return total + max(cost, 1) - limit


def seconds_until_freed(buckets: Mapping[int, int], now: float, needed: int) -> float | None:
    """Seconds until at least ``needed`` has left the window; None if waiting cannot
    free that much (the limit is smaller than one call)."""
    current = bucket_at(now)
    freed = 0
    for bucket in sorted(b for b in buckets if in_window(b, current)):
        freed += buckets[bucket]
        if freed >= needed:
            return max(0.0, (bucket + BUCKETS_PER_WINDOW) * BUCKET_SECONDS - now)
    return None


def retry_after_header(seconds: float) -> int:
    """Whole seconds for ``retry-after``: rounded up, at least 1."""
    return max(1, math.ceil(seconds - 1e-9))


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar budget period in UTC: ``start <= t < end`` (epoch seconds)."""

    label: str  # "month:2026-11-01"
    start: float
    end: float


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def budget_period(now: float, period: str) -> Period:
    """The ``day``, ``week`` (ISO: from Monday) or ``month`` containing ``now``."""
    today = datetime.fromtimestamp(now, tz=UTC).date()
    if period == "day":
        start, end = today, today + timedelta(days=1)
    elif period == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown budget period {period!r} (expected one of {', '.join(PERIODS)})")
    return Period(f"{period}:{start.isoformat()}", _epoch(start), _epoch(end))
