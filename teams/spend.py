"""Reads of money: spend per team and per gateway key by calendar period, the top spenders,
the models served without a known price, and each money budget's state.

Everything is summed in the database: per group and UTC day (one query per question, a
few for the budgets), the days folded into periods here. A record with no price
(``cost_usd`` NULL) never counts as $0: sums skip it, and it is counted as unpriced
instead. Periods are calendar periods in UTC, weeks from Monday, as the budgets are enforced.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import CharField, Count, Max, Q, Sum
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from teams.models import BudgetPeriod, GatewayKey, Team, UsageRecord
from teams.selectors import money

PERIODS = ("day", "week", "month")
NO_TEAM = "(no team)"
NO_KEY = "(no gateway key)"


def period_start(*, period: str, now: datetime) -> datetime:
    """The start (UTC midnight) of the calendar ``period`` holding ``now``."""
    today = now.astimezone(UTC).date()
    if period == "day":
        start = today
    elif period == "week":
        start = today - timedelta(days=today.weekday())
    elif period == "month":
        start = today.replace(day=1)
    else:
        raise ValueError(f"unknown period {period!r} (expected one of {', '.join(PERIODS)})")
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


# The day of a record as text, "YYYY-MM-DD" (UTC on every backend Django connects with
# USE_TZ). Grouping on it is several times faster than Trunc on SQLite, where Trunc is a
# Python function called for every row; the dashboard's buckets do the same.
_DAY_TEXT = Substr(Cast("created_at", CharField()), 1, 10)


def _add(total: Decimal | None, value: Decimal | None) -> Decimal | None:
    """Priced sums: ``None`` (nothing priced yet) plus ``None`` stays ``None``."""
    return total if value is None else (total or Decimal(0)) + value


def _money_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: money(value) if name.endswith("_usd") else value for name, value in row.items()}


@dataclass(frozen=True)
class SpendDays:
    """Spend per team, gateway key and UTC day, from one query (``spend_days``): priced sum
    (``cost_usd``), ``unpriced_count`` and ``requests``. The figures are folds of it, so a
    page showing several reads the records once."""

    now: datetime
    rows: list[dict[str, Any]]

    def _per_period(self, fields: tuple[str, ...]) -> list[dict[str, Any]]:
        starts = {period: period_start(period=period, now=self.now).date() for period in PERIODS}
        blank = {f"{p}_{figure}": None if figure == "usd" else 0 for p in PERIODS for figure in _FIGURES}
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in self.rows:
            key = tuple(row[field] for field in fields)
            group = groups.setdefault(key, {**dict(zip(fields, key, strict=True)), **blank})
            for period, start in starts.items():
                if row["day"] >= start:
                    group[f"{period}_usd"] = _add(group[f"{period}_usd"], row["cost_usd"])
                    group[f"{period}_unpriced"] += row["unpriced_count"]
                    group[f"{period}_requests"] += row["requests"]
        rows = [
            _money_row(group)
            for group in groups.values()
            if group["week_requests"] or group["month_requests"]
        ]
        return sorted(rows, key=lambda row: (-(row["month_usd"] or 0), -row["month_requests"]))

    def per_team(self) -> list[dict[str, Any]]:
        """Per team (its name as recorded): ``day_usd``/``week_usd``/``month_usd`` (``None``
        when nothing was priced), the unpriced and all requests of each period
        (``day_unpriced``, ``month_requests`` …); highest month first."""
        rows = self._per_period(("team_name",))
        for row in rows:
            row["team"] = row.pop("team_name") or NO_TEAM
        return rows

    def per_key(self) -> list[dict[str, Any]]:
        """As ``per_team``, per gateway key (``key_id``, ``key_prefix``, ``key``, ``team``)."""
        rows = self._per_period(("key_id", "key_prefix", "team_name"))
        for row in rows:
            row["team"] = row.pop("team_name") or NO_TEAM
            row["key"] = row["key_prefix"] or NO_KEY
        return rows

    def total(self) -> dict[str, Any] | None:
        """All teams and keys together, as one ``per_team`` row without its name; ``None``
        without requests this week or month."""
        rows = self._per_period(())
        return rows[0] if rows else None

    def _days(self, days: int) -> list[date]:
        today = self.now.astimezone(UTC).date()
        return [today - timedelta(days=days - 1 - offset) for offset in range(days)]

    def daily(self, days: int) -> list[dict[str, Any]]:
        """One row per day of the last ``days`` (today included, days without records too):
        ``day``, ``cost_usd`` (``None`` when nothing was priced), ``unpriced_count``, ``requests``."""
        found: dict[date, dict[str, Any]] = {
            day: {"day": day, "cost_usd": None, "unpriced_count": 0, "requests": 0}
            for day in self._days(days)
        }
        for row in self.rows:
            if (total := found.get(row["day"])) is not None:
                total["cost_usd"] = _add(total["cost_usd"], row["cost_usd"])
                total["unpriced_count"] += row["unpriced_count"]
                total["requests"] += row["requests"]
        return [_money_row(total) for total in found.values()]

    def daily_per_team(self, days: int) -> dict[str, Any]:
        """``{"days": [date…], "teams": {team: [Decimal | None per day]}}``, for charts."""
        all_days = self._days(days)
        index = {day: position for position, day in enumerate(all_days)}
        teams: dict[str, list[Decimal | None]] = {}
        for row in self.rows:
            if (position := index.get(row["day"])) is not None:
                series = teams.setdefault(row["team_name"] or NO_TEAM, [None] * days)
                series[position] = _add(series[position], row["cost_usd"])
        return {
            "days": all_days,
            "teams": {team: [money(v) for v in values] for team, values in sorted(teams.items())},
        }


_FIGURES = ("usd", "unpriced", "requests")
# The day of a record as text, "YYYY-MM-DD" (UTC on every backend Django connects with
# USE_TZ). Grouping on it is several times faster than Trunc on SQLite, where Trunc is a
# Python function called for every row; the dashboard's buckets do the same.
_DAY_TEXT = Substr(Cast("created_at", CharField()), 1, 10)


def spend_days(*, now: datetime | None = None, days: int = 1, team_id: int | None = None) -> SpendDays:
    """Spend per team, key and day since the earliest of: this week's start, this month's,
    and ``days`` days back (today included). One grouped query."""
    now = now or timezone.now()
    since = min(
        period_start(period="week", now=now),
        period_start(period="month", now=now),
        period_start(period="day", now=now) - timedelta(days=days - 1),
    )
    records = UsageRecord.objects.filter(created_at__gte=since, created_at__lte=now).order_by()
    if team_id is not None:
        records = records.filter(team_id=team_id)
    rows = list(
        records.annotate(day_text=_DAY_TEXT)
        .values("team_name", "key_id", "key_prefix", "day_text")
        .annotate(
            cost_usd=Sum("cost_usd"),
            unpriced_count=Count("id", filter=Q(unpriced=True)),
            requests=Count("id"),
        )
    )
    for row in rows:
        row["day"] = date.fromisoformat(row.pop("day_text"))
    return SpendDays(now=now, rows=rows)


def spend_per_team(*, now: datetime | None = None, team_id: int | None = None) -> list[dict[str, Any]]:
    """Spend today, this week and this month per team: ``SpendDays.per_team``."""
    return spend_days(now=now, team_id=team_id).per_team()


def spend_per_key(*, now: datetime | None = None, team_id: int | None = None) -> list[dict[str, Any]]:
    """Spend today, this week and this month per gateway key: ``SpendDays.per_key``."""
    return spend_days(now=now, team_id=team_id).per_key()


def top_spenders(*, now: datetime | None = None, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """``{"teams": …, "keys": …}``: the ``limit`` highest spenders of this month."""
    days = spend_days(now=now)
    return {"teams": days.per_team()[:limit], "keys": days.per_key()[:limit]}


def daily_spend(
    *, days: int = 30, now: datetime | None = None, team_id: int | None = None
) -> list[dict[str, Any]]:
    """Spend on each of the last ``days``: ``SpendDays.daily``."""
    return spend_days(now=now, days=days, team_id=team_id).daily(days)


def unpriced_models(*, since: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Models served without a known price: provider, model, count, last seen; latest first."""
    records = UsageRecord.objects.filter(unpriced=True).order_by()
    if since is not None:
        records = records.filter(created_at__gte=since)
    rows = (
        records.values("provider", "model_served")
        .annotate(count=Count("id"), last_seen=Max("created_at"))
        .order_by("-last_seen", "provider", "model_served")[:limit]
    )
    return [{**row, "model": row.pop("model_served")} for row in rows]


@dataclass(frozen=True)
class BudgetStatus:
    """A money budget in its current period: spent against ``budget_usd``."""

    kind: str  # "team" or "key"
    object_id: int
    name: str  # the team's name, or the key's prefix…last4
    team: str
    period: str
    period_start: date
    budget_usd: Decimal
    spent_usd: Decimal  # priced records only: unpriced ones are counted apart
    unpriced_count: int
    alert_percent: int

    @property
    def percent(self) -> float:
        if self.budget_usd <= 0:
            return 100.0 if self.spent_usd > 0 else 0.0
        return float(self.spent_usd * 100 / self.budget_usd)

    @property
    def alerting(self) -> bool:
        """At or over the soft threshold (the team's ``spend_alert_percent``)."""
        return self.percent >= self.alert_percent

    @property
    def exceeded(self) -> bool:
        return self.spent_usd >= self.budget_usd


def _spent_by(field: str, ids: Iterable[int], since: datetime, now: datetime) -> dict[int, dict[str, Any]]:
    rows = (
        UsageRecord.objects.filter(**{f"{field}__in": list(ids)}, created_at__gte=since, created_at__lte=now)
        .order_by()
        .values(field)
        .annotate(spent=Sum("cost_usd"), unpriced=Count("id", filter=Q(unpriced=True)))
    )
    return {row[field]: row for row in rows}


def _status(
    kind: str, name: str, budgeted: Team | GatewayKey, team: Team, spent: dict[str, Any], now: datetime
) -> BudgetStatus:
    return BudgetStatus(
        kind=kind,
        object_id=budgeted.pk,
        name=name,
        team=team.name,
        period=budgeted.spend_budget_period,
        period_start=period_start(period=budgeted.spend_budget_period, now=now).date(),
        budget_usd=budgeted.spend_budget_usd or Decimal(0),  # callers pass budgeted objects only
        spent_usd=money(spent.get("spent")) or Decimal(0),
        unpriced_count=int(spent.get("unpriced") or 0),
        alert_percent=team.spend_alert_percent,
    )


def budget_statuses(*, now: datetime | None = None, team_id: int | None = None) -> list[BudgetStatus]:
    """Every team and gateway key with a money budget (or those of one team), spent in
    its current period; fullest first. One query per period in use, per kind."""
    now = now or timezone.now()
    teams = Team.objects.filter(spend_budget_usd__isnull=False)
    keys = GatewayKey.objects.filter(spend_budget_usd__isnull=False).select_related("team")
    if team_id is not None:
        teams, keys = teams.filter(pk=team_id), keys.filter(team_id=team_id)
    statuses: list[BudgetStatus] = []
    for period in BudgetPeriod.values:
        since = period_start(period=period, now=now)
        period_teams = list(teams.filter(spend_budget_period=period))
        spent = _spent_by("team_id", (t.pk for t in period_teams), since, now) if period_teams else {}
        statuses += [_status("team", t.name, t, t, spent.get(t.pk, {}), now) for t in period_teams]
        period_keys = list(keys.filter(spend_budget_period=period))
        spent = _spent_by("key_id", (k.pk for k in period_keys), since, now) if period_keys else {}
        statuses += [_status("key", k.masked, k, k.team, spent.get(k.pk, {}), now) for k in period_keys]
    return sorted(statuses, key=lambda status: (-status.percent, status.kind, status.name))
