"""Spend selectors on known records: calendar periods in UTC, per team and per key, top
spenders, days without records, unpriced models, budget states; unpriced never sums as 0."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from teams.models import GatewayKey, Team, UsageRecord
from teams.services import gateway_key_create
from teams.spend import (
    NO_TEAM,
    budget_statuses,
    daily_spend,
    period_start,
    spend_days,
    spend_per_key,
    spend_per_team,
    top_spenders,
    unpriced_models,
)

pytestmark = pytest.mark.django_db
# A Wednesday: the week began on Monday 2026-11-30, the month on 2026-12-01.
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def _spend(
    when: datetime,
    cost: str | None,
    team: Team | None = None,
    key: GatewayKey | None = None,
    model: str = "gpt-4o",
    provider: str = "openai",
) -> None:
    UsageRecord.objects.create(
        created_at=when,
        team=team,
        team_name=team.name if team else "",
        key_id=key.pk if key else None,
        key_prefix=key.prefix if key else "",
        provider=provider,
        model_requested=model,
        model_served=model,
        status=200,
        cost_usd=Decimal(cost) if cost is not None else None,
        unpriced=cost is None,
    )


@pytest.fixture
def core() -> Team:
    return Team.objects.create(name="core")


@pytest.fixture
def lab() -> Team:
    return Team.objects.create(name="lab")


@pytest.mark.parametrize(
    ("period", "start"),
    [
        ("day", datetime(2026, 12, 2, tzinfo=UTC)),
        ("week", datetime(2026, 11, 30, tzinfo=UTC)),
        ("month", datetime(2026, 12, 1, tzinfo=UTC)),
    ],
)
def test_periods_are_calendar_periods_in_utc(period: str, start: datetime) -> None:
    assert period_start(period=period, now=NOW) == start


def test_an_unknown_period_is_an_error() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        period_start(period="fortnight", now=NOW)


def test_spend_per_team_by_day_week_and_month(core: Team, lab: Team) -> None:
    _spend(datetime(2026, 11, 29, 23, 59, tzinfo=UTC), "100", core)  # last week, last month: not counted
    _spend(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), "1.25", core)  # this week, last month
    _spend(datetime(2026, 12, 1, 8, tzinfo=UTC), "0.0000000001", core)  # this week and month
    _spend(datetime(2026, 12, 2, 9, tzinfo=UTC), "2", core)  # today
    _spend(datetime(2026, 12, 2, 9, tzinfo=UTC), None, core)  # today, unpriced
    _spend(datetime(2026, 12, 2, 10, tzinfo=UTC), None, lab)  # only unpriced: unknown, not $0
    _spend(datetime(2026, 12, 2, 11, tzinfo=UTC), "0.5")  # the master key: no team

    rows = {row["team"]: row for row in spend_per_team(now=NOW)}
    assert set(rows) == {"core", "lab", NO_TEAM}
    assert rows["core"]["day_usd"] == Decimal("2")
    assert rows["core"]["week_usd"] == Decimal("3.2500000001")
    assert rows["core"]["month_usd"] == Decimal("2.0000000001")
    assert (rows["core"]["day_unpriced"], rows["core"]["month_requests"]) == (1, 3)
    assert rows["lab"]["month_usd"] is None
    assert rows["lab"]["month_unpriced"] == 1
    assert rows[NO_TEAM]["day_usd"] == Decimal("0.5")
    assert [row["team"] for row in spend_per_team(now=NOW)] == ["core", NO_TEAM, "lab"]  # by month spend
    assert [row["team"] for row in spend_per_team(now=NOW, team_id=lab.pk)] == ["lab"]
    total = spend_days(now=NOW).total()
    assert total is not None
    assert (total["day_usd"], total["week_usd"], total["month_usd"]) == (
        Decimal("2.5"),
        Decimal("3.7500000001"),
        Decimal("2.5000000001"),
    )
    assert (total["month_requests"], total["month_unpriced"]) == (5, 2)
    assert spend_days(now=datetime(2027, 3, 1, tzinfo=UTC)).total() is None


def test_spend_per_key_and_top_spenders(core: Team, lab: Team) -> None:
    big, _ = gateway_key_create(team=core)
    small, _ = gateway_key_create(team=core)
    other, _ = gateway_key_create(team=lab)
    _spend(datetime(2026, 12, 1, tzinfo=UTC), "5", core, big)
    _spend(datetime(2026, 12, 2, tzinfo=UTC), "1", core, small)
    _spend(datetime(2026, 12, 2, tzinfo=UTC), "3", lab, other)

    keys = spend_per_key(now=NOW)
    assert [(row["key_id"], row["key"], row["team"], row["month_usd"]) for row in keys] == [
        (big.pk, big.prefix, "core", Decimal(5)),
        (other.pk, other.prefix, "lab", Decimal(3)),
        (small.pk, small.prefix, "core", Decimal(1)),
    ]
    assert [row["key_id"] for row in spend_per_key(now=NOW, team_id=core.pk)] == [big.pk, small.pk]
    top = top_spenders(now=NOW, limit=2)
    assert [(row["team"], row["month_usd"]) for row in top["teams"]] == [("core", 6), ("lab", 3)]
    assert [row["key_id"] for row in top["keys"]] == [big.pk, other.pk]


def test_daily_spend_has_every_day_and_keeps_unknown_apart(core: Team, lab: Team) -> None:
    _spend(datetime(2026, 11, 30, 1, tzinfo=UTC), "1.5", core)
    _spend(datetime(2026, 11, 30, 23, tzinfo=UTC), "0.25", core)
    _spend(datetime(2026, 12, 1, 1, tzinfo=UTC), None, core)
    _spend(datetime(2026, 12, 2, 1, tzinfo=UTC), "7", lab)
    _spend(datetime(2026, 11, 1, 1, tzinfo=UTC), "50", core)  # older than the window

    days = daily_spend(days=4, now=NOW)
    assert [(row["day"], row["cost_usd"], row["unpriced_count"]) for row in days] == [
        (date(2026, 11, 29), None, 0),
        (date(2026, 11, 30), Decimal("1.75"), 0),
        (date(2026, 12, 1), None, 1),
        (date(2026, 12, 2), Decimal("7"), 0),
    ]
    core_days = daily_spend(days=4, now=NOW, team_id=core.pk)
    assert core_days[-1]["cost_usd"] is None
    assert core_days[1]["requests"] == 2


def test_unpriced_models_latest_first(core: Team) -> None:
    _spend(datetime(2026, 12, 1, tzinfo=UTC), None, core, model="mystery-1", provider="local")
    _spend(datetime(2026, 12, 2, tzinfo=UTC), None, core, model="mystery-1", provider="local")
    _spend(datetime(2026, 11, 20, tzinfo=UTC), None, core, model="odd", provider="groq")
    _spend(datetime(2026, 12, 2, tzinfo=UTC), "1", core)  # priced: not listed

    models = unpriced_models()
    assert [(m["provider"], m["model"], m["count"]) for m in models] == [
        ("local", "mystery-1", 2),
        ("groq", "odd", 1),
    ]
    assert models[0]["last_seen"] == datetime(2026, 12, 2, tzinfo=UTC)
    assert [m["model"] for m in unpriced_models(since=datetime(2026, 11, 25, tzinfo=UTC))] == ["mystery-1"]


def test_budget_statuses_per_team_and_key_in_their_own_periods(core: Team, lab: Team) -> None:
    core.spend_budget_usd, core.spend_budget_period, core.spend_alert_percent = Decimal(10), "month", 80
    core.save()
    lab.spend_budget_usd, lab.spend_budget_period = Decimal(4), "day"
    lab.save()
    key, _ = gateway_key_create(team=core)
    key.spend_budget_usd, key.spend_budget_period = Decimal(2), "week"
    key.save()
    Team.objects.create(name="free")  # no money budget: not listed
    _spend(datetime(2026, 11, 30, tzinfo=UTC), "1.5", core, key)  # this week, last month
    _spend(datetime(2026, 12, 1, tzinfo=UTC), "8.5", core, key)
    _spend(datetime(2026, 12, 1, tzinfo=UTC), None, core, key)
    _spend(datetime(2026, 12, 1, tzinfo=UTC), "3", lab)  # yesterday: not today's
    _spend(datetime(2026, 12, 2, tzinfo=UTC), "1", lab)

    statuses = {(s.kind, s.name): s for s in budget_statuses(now=NOW)}
    assert set(statuses) == {("team", "core"), ("team", "lab"), ("key", key.masked)}
    team = statuses["team", "core"]
    assert (team.spent_usd, team.percent, team.alerting, team.exceeded) == (Decimal("8.5"), 85.0, True, False)
    assert team.unpriced_count == 1
    assert team.period_start == date(2026, 12, 1)
    day = statuses["team", "lab"]
    assert (day.spent_usd, day.percent, day.alerting) == (Decimal(1), 25.0, False)
    weekly = statuses["key", key.masked]
    assert (weekly.spent_usd, weekly.percent, weekly.exceeded, weekly.team) == (
        Decimal(10),
        500.0,
        True,
        "core",
    )
    assert [s.kind for s in budget_statuses(now=NOW)] == ["key", "team", "team"]  # fullest first
    assert {s.name for s in budget_statuses(now=NOW, team_id=lab.pk)} == {"lab"}
