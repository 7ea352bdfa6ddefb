"""REST API: usage records with filters, aggregates on known rows."""

from datetime import UTC, datetime

import pytest

from teams.models import Team, UsageRecord
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db


def _record(team: Team | None, day: int, provider: str, model: str, status: int = 200, **fields: int) -> None:
    UsageRecord.objects.create(
        created_at=datetime(2026, 11, day, 12, tzinfo=UTC),
        team=team,
        team_name=team.name if team else "",
        provider=provider,
        model_requested=model,
        model_served=model,
        status=status,
        **fields,
    )


@pytest.fixture
def records() -> None:
    core, lab = Team.objects.create(name="core"), Team.objects.create(name="lab")
    _record(core, 1, "openai", "gpt-4o", input_tokens=10, output_tokens=5, latency_ms=100)
    _record(core, 1, "openai", "gpt-4o", input_tokens=20, output_tokens=5, latency_ms=300)
    _record(core, 2, "openai", "gpt-4o-mini", status=429, latency_ms=10)
    _record(
        lab, 2, "anthropic", "claude", input_tokens=100, output_tokens=50, cached_tokens=7, latency_ms=200
    )
    _record(None, 3, "anthropic", "claude", status=500, latency_ms=50)


def test_records_are_listed_newest_first_with_filters(api: RecordingClient, records: None) -> None:
    rows = api.get("/api/usage/").json()["results"]
    assert [r["created_at"][:10] for r in rows] == [
        "2026-11-03",
        "2026-11-02",
        "2026-11-02",
        "2026-11-01",
        "2026-11-01",
    ]
    assert api.get("/api/usage/?team=core").json()["count"] == 3
    team_id = Team.objects.get(name="lab").pk
    assert api.get(f"/api/usage/?team={team_id}").json()["count"] == 1
    assert api.get("/api/usage/?provider=anthropic").json()["count"] == 2
    assert api.get("/api/usage/?model=gpt-4o-mini").json()["count"] == 1
    assert api.get("/api/usage/?status=429").json()["count"] == 1
    assert api.get("/api/usage/?errors_only=true").json()["count"] == 2
    window = "since=2026-11-02T00:00:00Z&until=2026-11-03T00:00:00Z"
    assert api.get(f"/api/usage/?{window}").json()["count"] == 2
    assert api.get("/api/usage/?limit=2").json()["next"] is not None
    one = rows[0]["id"]
    assert api.get(f"/api/usage/{one}/").json()["status"] == 500


def test_bad_filters_are_400(api: RecordingClient, records: None) -> None:
    assert api.get("/api/usage/?status=abc").status_code == 400
    assert api.get("/api/usage/?since=yesterday").status_code == 400
    assert api.get("/api/usage/aggregate/?group_by=weekday").status_code == 400


def test_usage_is_read_only(api: RecordingClient, records: None) -> None:
    assert api.post("/api/usage/", {}).status_code == 405
    assert api.delete(f"/api/usage/{UsageRecord.objects.first().pk}/").status_code == 405


def test_aggregates_by_day_provider_model_and_team(api: RecordingClient, records: None) -> None:
    by_day = api.get("/api/usage/aggregate/?group_by=day").json()
    assert by_day == [
        {
            "day": "2026-11-01",
            "requests": 2,
            "input_tokens": 30,
            "output_tokens": 10,
            "cached_tokens": 0,
            "error_count": 0,
            "total_tokens": 40,
            "p50_latency_ms": 200.0,
            "cost_usd": None,  # nothing priced: unknown, not 0
            "unpriced_count": 0,
        },
        {
            "day": "2026-11-02",
            "requests": 2,
            "input_tokens": 100,
            "output_tokens": 50,
            "cached_tokens": 7,
            "error_count": 1,
            "total_tokens": 150,
            "p50_latency_ms": 105.0,
            "cost_usd": None,
            "unpriced_count": 0,
        },
        {
            "day": "2026-11-03",
            "requests": 1,
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_tokens": 0,
            "error_count": 1,
            "total_tokens": 0,
            "p50_latency_ms": 50.0,
            "cost_usd": None,
            "unpriced_count": 0,
        },
    ]
    by_provider = {
        r["provider"]: (r["requests"], r["error_count"])
        for r in api.get("/api/usage/aggregate/?group_by=provider").json()
    }
    assert by_provider == {"anthropic": (2, 1), "openai": (3, 1)}
    by_model = {r["model"]: r["total_tokens"] for r in api.get("/api/usage/aggregate/?group_by=model").json()}
    assert by_model == {"claude": 150, "gpt-4o": 40, "gpt-4o-mini": 0}
    by_team = {r["team"]: r["requests"] for r in api.get("/api/usage/aggregate/?group_by=team").json()}
    assert by_team == {"": 1, "core": 3, "lab": 1}
    filtered = api.get("/api/usage/aggregate/?group_by=provider&team=core").json()
    assert [(r["provider"], r["requests"], r["p50_latency_ms"]) for r in filtered] == [("openai", 3, 100.0)]
