"""Reads of teams and their usage: budgets spent (limits), filters and aggregates (REST API, admin)."""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from teams.models import UsageRecord

# What a usage aggregate can be grouped by, and the expression that groups it.
USAGE_GROUPS: dict[str, Any] = {
    "day": TruncDate("created_at"),
    "provider": F("provider"),
    "model": F("model_served"),
    "team": F("team_name"),
}


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the p50 in the database, one pass per group."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class UsageFilter:
    team: str | None = None  # a team id or name
    provider: str | None = None
    model: str | None = None  # as requested or as served
    status: int | None = None
    errors_only: bool = False
    since: datetime | None = None
    until: datetime | None = None


def usage_records(*, filters: UsageFilter) -> QuerySet[UsageRecord]:
    records = UsageRecord.objects.all()
    if filters.team:
        by_id = Q(team_id=int(filters.team)) if filters.team.isdigit() else Q()
        records = records.filter(by_id | Q(team_name=filters.team))
    if filters.provider:
        records = records.filter(provider=filters.provider)
    if filters.model:
        records = records.filter(Q(model_served=filters.model) | Q(model_requested=filters.model))
    if filters.status is not None:
        records = records.filter(status=filters.status)
    if filters.errors_only:
        records = records.filter(status__gte=400)
    if filters.since is not None:
        records = records.filter(created_at__gte=filters.since)
    if filters.until is not None:
        records = records.filter(created_at__lt=filters.until)
    return records


def _medians_in_python(records: QuerySet[UsageRecord], group: Any) -> dict[Any, float]:
    """SQLite has no percentile aggregate: fetch (group, latency) pairs and take medians."""
    latencies: dict[Any, list[int]] = defaultdict(list)
    for key, latency in records.annotate(group_key=group).values_list("group_key", "latency_ms"):
        latencies[key].append(latency)
    return {key: float(statistics.median(values)) for key, values in latencies.items()}


def usage_aggregate(*, records: QuerySet[UsageRecord], group_by: str) -> list[dict[str, Any]]:
    """Requests, tokens, errors and p50 latency per ``group_by`` (a key of ``USAGE_GROUPS``)."""
    group = USAGE_GROUPS[group_by]
    in_database = connection.vendor == "postgresql"
    totals: dict[str, Any] = {
        "requests": Count("id"),
        "input_tokens": Sum("input_tokens", default=0),
        "output_tokens": Sum("output_tokens", default=0),
        "cached_tokens": Sum("cached_tokens", default=0),
        "error_count": Count("id", filter=Q(status__gte=400)),
    }
    if in_database:
        totals["p50_latency_ms"] = Median("latency_ms")
    rows = list(
        records.order_by()
        .annotate(group_key=group)
        .values("group_key")
        .annotate(**totals)
        .order_by("group_key")
    )
    medians = {} if in_database else _medians_in_python(records.order_by(), group)
    result = []
    for row in rows:
        key = row.pop("group_key")
        p50 = row.pop("p50_latency_ms") if in_database else medians.get(key)
        total = row["input_tokens"] + row["output_tokens"]
        result.append({group_by: key, **row, "total_tokens": total, "p50_latency_ms": p50})
    return result


def team_tokens_spent(*, team_id: int, start: datetime, until: datetime) -> int:
    """Input + output tokens the team's recorded requests used in ``[start, until)``."""
    total = UsageRecord.objects.filter(
        team_id=team_id, created_at__gte=start, created_at__lt=until
    ).aggregate(total=Sum(F("input_tokens") + F("output_tokens")))["total"]
    return int(total or 0)
