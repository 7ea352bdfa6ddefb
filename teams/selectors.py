"""Reads of teams and their usage: budgets spent (limits), filters and aggregates (REST API, admin)."""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DateField, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek

from teams.models import Team, UsageRecord

# Time groups: calendar periods in UTC (weeks from Monday), as the budgets count them.
TIME_GROUPS: dict[str, Any] = {
    "day": TruncDate("created_at", tzinfo=UTC),
    "week": TruncWeek("created_at", output_field=DateField(), tzinfo=UTC),
    "month": TruncMonth("created_at", output_field=DateField(), tzinfo=UTC),
}
# What a usage aggregate can be grouped by: the output columns of a group and their
# expressions. A gateway key is named by its id and prefix (and its team), which stay
# in the records after the key is deleted.
USAGE_GROUPS: dict[str, dict[str, Any]] = {
    **{name: {name: expression} for name, expression in TIME_GROUPS.items()},
    "provider": {"provider": F("provider")},
    "model": {"model": F("model_served")},
    "team": {"team": F("team_name")},
    "key": {"key_id": F("key_id"), "key_prefix": F("key_prefix"), "team": F("team_name")},
}
# The figures of each group, in the order a CSV lists them.
AGGREGATE_FIGURES = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "total_tokens",
    "error_count",
    "p50_latency_ms",
    "cost_usd",
    "unpriced_count",
)


# Sums of cost_usd, to the column's 10 places. PostgreSQL sums NUMERIC exactly at that scale;
# SQLite sums REALs and Django hands them over with 15 significant digits, unquantized, so
# both are quantized here to read alike (exact on SQLite below $100 000 a group).
COST_PLACES = Decimal("1e-10")


def money(value: Decimal | None) -> Decimal | None:
    """A summed cost at the column's scale; ``None`` stays ``None`` (unknown is not 0)."""
    return None if value is None else Decimal(value).quantize(COST_PLACES)


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


def team_by_id_or_name(value: str | int) -> Team | None:
    """The team a client named: a number is an id; a string is a name first, then, if it
    is all digits, an id (a team called "7" stays reachable by its name)."""
    if isinstance(value, int):
        return Team.objects.filter(pk=value).first()
    named = Team.objects.filter(name=value).first()
    if named is not None or not value.isdigit():
        return named
    return Team.objects.filter(pk=int(value)).first()


def usage_team_known(value: str) -> bool:
    """Whether ``?team=`` names a team the usage records know: an existing team, or one
    deleted since (its records keep its name)."""
    return team_by_id_or_name(value) is not None or UsageRecord.objects.filter(team_name=value).exists()


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


def group_columns(*, group_by: str, period: str | None = None) -> list[str]:
    """The columns naming a group: the period's first (rows are a time series), then the group's."""
    return [*(USAGE_GROUPS[period] if period else {}), *USAGE_GROUPS[group_by]]


def _medians_in_python(records: QuerySet[UsageRecord], aliases: dict[str, Any]) -> dict[Any, float]:
    """SQLite has no percentile aggregate: fetch (group…, latency) rows and take medians."""
    latencies: dict[Any, list[int]] = defaultdict(list)
    for *key, latency in records.annotate(**aliases).values_list(*aliases, "latency_ms"):
        latencies[tuple(key)].append(latency)
    return {key: float(statistics.median(values)) for key, values in latencies.items()}


def usage_aggregate(
    *, records: QuerySet[UsageRecord], group_by: str, period: str | None = None
) -> list[dict[str, Any]]:
    """Requests, tokens, errors, p50 latency and spend per ``group_by`` (a key of
    ``USAGE_GROUPS``), split by ``period`` (a key of ``TIME_GROUPS``) when given.

    ``cost_usd`` sums the priced records only: a group without one has ``None``, never 0
    (unknown is not free); ``unpriced_count`` says how many records had no price.
    """
    expressions = {**(USAGE_GROUPS[period] if period else {}), **USAGE_GROUPS[group_by]}
    # Aliased: a column may share its name with a model field (provider, key_id).
    aliases = {f"group_{column}": expression for column, expression in expressions.items()}
    in_database = connection.vendor == "postgresql"
    totals: dict[str, Any] = {
        "requests": Count("id"),
        "input_tokens": Sum("input_tokens", default=0),
        "output_tokens": Sum("output_tokens", default=0),
        "cached_tokens": Sum("cached_tokens", default=0),
        "error_count": Count("id", filter=Q(status__gte=400)),
        "cost_usd": Sum("cost_usd"),
        "unpriced_count": Count("id", filter=Q(unpriced=True)),
    }
    if in_database:
        totals["p50_latency_ms"] = Median("latency_ms")
    # NULLs first on both backends (SQLite and PostgreSQL disagree by default).
    ordering = [F(alias).asc(nulls_first=True) for alias in aliases]
    rows = list(
        records.order_by().annotate(**aliases).values(*aliases).annotate(**totals).order_by(*ordering)
    )
    medians = {} if in_database else _medians_in_python(records.order_by(), aliases)
    result = []
    for row in rows:
        key = tuple(row.pop(alias) for alias in aliases)
        p50 = row.pop("p50_latency_ms") if in_database else medians.get(key)
        row.update(total_tokens=row["input_tokens"] + row["output_tokens"], p50_latency_ms=p50)
        row["cost_usd"] = money(row["cost_usd"])
        result.append({**dict(zip(expressions, key, strict=True)), **{f: row[f] for f in AGGREGATE_FIGURES}})
    return result


def team_tokens_spent(*, team_id: int, start: datetime, until: datetime) -> int:
    """Input + output tokens the team's recorded requests used in ``[start, until)``."""
    total = UsageRecord.objects.filter(
        team_id=team_id, created_at__gte=start, created_at__lt=until
    ).aggregate(total=Sum(F("input_tokens") + F("output_tokens")))["total"]
    return int(total or 0)


def spend_usd(*, team_id: int, key_id: int | None = None, start: datetime, until: datetime) -> Decimal:
    """US dollars the team's (or, with ``key_id``, that gateway key's) recorded requests
    cost in ``[start, until)``. Unpriced requests (no ``cost_usd``) count nothing."""
    records = UsageRecord.objects.filter(team_id=team_id, created_at__gte=start, created_at__lt=until)
    if key_id is not None:
        records = records.filter(key_id=key_id)
    total = records.aggregate(total=Sum("cost_usd"))["total"]
    return Decimal(total) if total is not None else Decimal(0)
