"""REST API: spend in the usage aggregate (cost sums as decimal strings, unpriced counts),
per gateway key, by day/week/month, the ``period`` split, CSV, and 400s naming the param."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from teams.models import GatewayKey, Team, UsageRecord
from teams.services import gateway_key_create
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db
AGGREGATE = "/api/usage/aggregate/"


def _spend(
    team: Team | None, key: GatewayKey | None, when: tuple[int, int], cost: str | None, **fields: object
) -> None:
    month, day = when
    UsageRecord.objects.create(
        created_at=datetime(2026, month, day, 12, tzinfo=UTC),
        team=team,
        team_name=team.name if team else "",
        key_id=key.pk if key else None,
        key_prefix=key.prefix if key else "",
        provider="openai",
        model_requested="gpt-4o",
        model_served="gpt-4o",
        status=200,
        cost_usd=Decimal(cost) if cost is not None else None,
        unpriced=cost is None,
        **fields,
    )


@pytest.fixture
def keys() -> tuple[GatewayKey, GatewayKey]:
    core, lab = Team.objects.create(name="core"), Team.objects.create(name="lab")
    core_key, _ = gateway_key_create(team=core)
    lab_key, _ = gateway_key_create(team=lab)
    # 2026-11-29 is a Sunday (week of 11-23), 11-30 a Monday, 12-01 in the next month.
    _spend(core, core_key, (11, 29), "0.0000012345")
    _spend(core, core_key, (11, 29), "1.5")
    _spend(core, core_key, (11, 30), "0.25")
    _spend(core, core_key, (12, 1), None)  # unpriced: counted, never summed as 0
    _spend(lab, lab_key, (12, 1), None)
    _spend(lab, lab_key, (12, 1), None)
    _spend(None, None, (12, 1), "2")  # the master key: no team, no gateway key
    return core_key, lab_key


def test_spend_per_day_week_and_month_sums_costs_as_decimal_strings(
    api: RecordingClient, keys: tuple[GatewayKey, GatewayKey]
) -> None:
    def figures(group_by: str) -> list[tuple[str, str | None, int]]:
        rows = api.get(f"{AGGREGATE}?group_by={group_by}").json()
        return [(r[group_by], r["cost_usd"], r["unpriced_count"]) for r in rows]

    assert figures("day") == [
        ("2026-11-29", "1.5000012345", 0),
        ("2026-11-30", "0.2500000000", 0),
        ("2026-12-01", "2.0000000000", 3),
    ]
    assert figures("week") == [("2026-11-23", "1.5000012345", 0), ("2026-11-30", "2.2500000000", 3)]
    assert figures("month") == [("2026-11-01", "1.7500012345", 0), ("2026-12-01", "2.0000000000", 3)]


def test_spend_per_team_and_per_key_leaves_unpriced_groups_null(
    api: RecordingClient, keys: tuple[GatewayKey, GatewayKey]
) -> None:
    core_key, lab_key = keys
    by_team = {
        r["team"]: (r["cost_usd"], r["unpriced_count"]) for r in api.get(f"{AGGREGATE}?group_by=team").json()
    }
    assert by_team == {"": ("2.0000000000", 0), "core": ("1.7500012345", 1), "lab": (None, 2)}

    by_key = api.get(f"{AGGREGATE}?group_by=key").json()
    assert [(r["key_id"], r["key_prefix"], r["team"], r["requests"], r["cost_usd"]) for r in by_key] == [
        (None, "", "", 1, "2.0000000000"),
        (core_key.pk, core_key.prefix, "core", 4, "1.7500012345"),
        (lab_key.pk, lab_key.prefix, "lab", 2, None),
    ]
    only_core = api.get(f"{AGGREGATE}?group_by=key&team=core").json()
    assert [r["key_id"] for r in only_core] == [core_key.pk]


def test_period_splits_a_group_by_calendar_period(
    api: RecordingClient, keys: tuple[GatewayKey, GatewayKey]
) -> None:
    rows = api.get(f"{AGGREGATE}?group_by=team&period=month").json()
    assert [(r["month"], r["team"], r["cost_usd"], r["unpriced_count"]) for r in rows] == [
        ("2026-11-01", "core", "1.7500012345", 0),
        ("2026-12-01", "", "2.0000000000", 0),
        ("2026-12-01", "core", None, 1),
        ("2026-12-01", "lab", None, 2),
    ]
    core_key = keys[0]
    weekly = api.get(f"{AGGREGATE}?group_by=key&period=week&team=core").json()
    assert [(r["week"], r["key_id"], r["cost_usd"]) for r in weekly] == [
        ("2026-11-23", core_key.pk, "1.5000012345"),
        ("2026-11-30", core_key.pk, "0.2500000000"),
    ]
    daily = api.get(f"{AGGREGATE}?group_by=provider&period=day").json()
    assert [(r["day"], r["provider"], r["requests"]) for r in daily] == [
        ("2026-11-29", "openai", 2),
        ("2026-11-30", "openai", 1),
        ("2026-12-01", "openai", 4),
    ]


def test_csv_has_a_header_and_the_same_figures(
    api: RecordingClient, keys: tuple[GatewayKey, GatewayKey]
) -> None:
    response = api.get(f"{AGGREGATE}?group_by=team&period=month&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="usage-team-month.csv"'
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    as_json = api.get(f"{AGGREGATE}?group_by=team&period=month").json()
    assert len(table) == len(as_json) == 4
    for line, row in zip(table, as_json, strict=True):
        assert line["month"] == row["month"]
        assert line["team"] == row["team"]
        assert int(line["requests"]) == row["requests"]
        assert line["cost_usd"] == (row["cost_usd"] or "")  # unknown stays empty, not 0
        assert int(line["unpriced_count"]) == row["unpriced_count"]
    header = response.content.decode().splitlines()[0].split(",")
    assert header[:2] == ["month", "team"]
    assert "cost_usd" in header
    assert "unpriced_count" in header


def test_an_empty_csv_still_has_its_header(api: RecordingClient, keys: tuple[GatewayKey, GatewayKey]) -> None:
    response = api.get(f"{AGGREGATE}?group_by=key&provider=nobody&format=csv")
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("key_id,key_prefix,team,requests,")


def test_csv_cells_that_would_be_formulas_are_quoted(api: RecordingClient) -> None:
    team = Team.objects.create(name="=HYPERLINK(1)")
    _spend(team, None, (11, 2), "1")
    body = api.get(f"{AGGREGATE}?group_by=team&format=csv").content.decode()
    assert "'=HYPERLINK(1)" in body


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("group_by=weekday", "group_by"),
        ("group_by=team&period=year", "period"),
        ("group_by=day&period=month", "period"),
        ("group_by=team&format=xml", "format"),
        ("group_by=team&format=csv&since=yesterday", "since"),
    ],
)
def test_bad_parameters_are_400_json_naming_the_param(api: RecordingClient, query: str, param: str) -> None:
    response = api.get(f"{AGGREGATE}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert param in response.json()


def test_the_record_list_has_no_csv(api: RecordingClient) -> None:
    response = api.get("/api/usage/?format=csv")
    assert response.status_code == 400
    assert "format" in response.json()
