"""Reads for the dashboard and the ``status`` command: usage aggregated in the database
(one grouped query per window), key pool health, the provider load summary, recent
errors. Each selector runs a bounded number of queries, whatever the table size."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, Q, Sum
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from aliases.models import Alias
from dashboard.stats import LATENCY_EDGES_MS, Window, fold
from providers.models import ApiKey, Provider, ProviderLoadResult
from routing.groups.state import group_router
from routing.metrics import error_type
from teams import spend
from teams.models import UsageRecord

RECENT_ERRORS = 20
SPEND_DAYS = 30
TOP_SPENDERS = 10
KEY_STATES = ("healthy", "cooling", "failing", "disabled")


def windows(now: datetime | None = None) -> list[Window]:
    """The last hour by minute and the last day by hour, each ending with the current bucket."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    hour = minute.replace(minute=0)
    return [
        Window("hour", minute - timedelta(minutes=59), 60, 60),
        Window("day", hour - timedelta(hours=23), 3600, 24),
    ]


# "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH": the time as text (UTC on every backend Django
# connects with USE_TZ), cut to the bucket. Grouping on it is several times faster than
# Trunc on SQLite, where Trunc is a Python function called for every row.
_BUCKET_FORMATS = {60: ("%Y-%m-%d %H:%M", 16), 3600: ("%Y-%m-%d %H", 13)}


def _bucket_start(text: str, window: Window) -> datetime:
    fmt, length = _BUCKET_FORMATS[window.bucket_seconds]
    return datetime.strptime(text.replace("T", " ")[:length], fmt).replace(tzinfo=UTC)


def _usage_rows(window: Window) -> list[dict[str, Any]]:
    _, length = _BUCKET_FORMATS[window.bucket_seconds]
    histogram = {
        f"le_{index}": Count("id", filter=Q(latency_ms__lte=edge))
        for index, edge in enumerate(LATENCY_EDGES_MS)
    }
    rows = list(
        UsageRecord.objects.filter(created_at__gte=window.start)
        .annotate(bucket_text=Substr(Cast("created_at", CharField()), 1, length))
        .values("provider", "team_name", "bucket_text")
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=Q(status__gte=400)),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cached_tokens=Sum("cached_tokens"),
            ttft_sum=Sum("ttft_ms"),
            ttft_count=Count("ttft_ms"),
            **histogram,
        )
        .order_by()
    )
    for row in rows:
        row["bucket"] = _bucket_start(row.pop("bucket_text"), window)
    return rows


def usage_overview(now: datetime | None = None) -> dict[str, Any]:
    """``{"hour": …, "day": …}``: series and totals per provider and per team."""
    return {window.name: fold(window, _usage_rows(window)) for window in windows(now)}


def _key_state(key: ApiKey, now: datetime) -> str:
    if not key.enabled:
        return "disabled"
    if key.cooldown_until and key.cooldown_until > now:
        return "cooling"
    return "failing" if key.consecutive_failures else "healthy"


def group_health() -> list[dict[str, Any]]:
    """Every model group's targets with their breaker, requests in flight and TTFT EWMA,
    as this process sees them (breakers shared through Redis when one is configured)."""
    groups = []
    for alias in Alias.objects.exclude(targets=[]).select_related("provider"):
        targets = [entry for entry in alias.targets if isinstance(entry, dict)]
        rows = []
        for entry in targets:
            key = str(entry.get("target", "")).lower()
            latency = group_router.latency.get(key)
            rows.append(
                {
                    **entry,
                    "breaker": group_router.breaker_state(key),
                    "in_flight": group_router.in_flight.get(key, 0),
                    "ttft_ms": round(latency * 1000) if latency is not None else None,
                }
            )
        groups.append({"name": alias.name, "strategy": alias.strategy, "targets": rows})
    return groups


def key_health() -> list[dict[str, Any]]:
    """Every provider's pool as the database records it (shared by all processes)."""
    now = timezone.now()
    pools = []
    for provider in Provider.objects.prefetch_related("keys"):
        keys = [
            {
                "key": key.masked,
                "label": key.label,
                "state": _key_state(key, now),
                "failures": key.consecutive_failures,
                "last_failure_at": key.last_failure_at,
                "last_failure_status": key.last_failure_status,
                "cooldown_until": key.cooldown_until,
            }
            for key in provider.keys.all()
        ]
        states = [key["state"] for key in keys]
        pools.append(
            {
                "provider": provider.name,
                "enabled": provider.enabled,
                "passthrough": provider.passthrough,
                "keys": keys,
                "counts": {
                    state: states.count(state) for state in ("healthy", "cooling", "failing", "disabled")
                },
            }
        )
    return pools


def load_summary() -> list[ProviderLoadResult]:
    return list(ProviderLoadResult.objects.order_by("provider_name"))


def aliases() -> list[Alias]:
    return list(Alias.objects.select_related("provider").order_by("name"))


def recent_errors(limit: int = RECENT_ERRORS) -> list[dict[str, Any]]:
    rows = UsageRecord.objects.filter(status__gte=400).order_by("-created_at")[:limit]
    return [
        {
            "created_at": row.created_at,
            "team": row.team_name,
            "provider": row.provider,
            "model": row.model_served or row.model_requested,
            "status": row.status,
            "type": error_type(row.status),
            "error": row.error,
        }
        for row in rows
    ]


def recent_usage(limit: int = 10) -> list[UsageRecord]:
    return list(UsageRecord.objects.order_by("-created_at")[:limit])


def spend_overview(now: datetime | None = None) -> dict[str, Any]:
    """Money for the dashboard: spend per day over ``SPEND_DAYS`` per team (the chart), the
    top spending teams and keys of this month, the models without a price and the budgets
    at or over their soft threshold."""
    now = now or timezone.now()
    days = spend.spend_days(now=now, days=SPEND_DAYS)  # one query for the chart and both tables
    daily = days.daily_per_team(SPEND_DAYS)
    chart = {
        "labels": [day.strftime("%m-%d") for day in daily["days"]],
        # Floats for drawing; an unpriced or empty day is drawn at 0 (the tables say what is unknown).
        "series": {team: [float(value or 0) for value in values] for team, values in daily["teams"].items()},
    }
    return {
        "chart": chart,
        "teams": days.per_team()[:TOP_SPENDERS],
        "keys": days.per_key()[:TOP_SPENDERS],
        "unpriced_models": spend.unpriced_models(since=now - timedelta(days=SPEND_DAYS)),
        "budgets": [status for status in spend.budget_statuses(now=now) if status.alerting],
    }
