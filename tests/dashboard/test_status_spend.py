"""``manage.py status``: spend today, this week and this month per team, and the unpriced count."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from teams.models import UsageRecord

pytestmark = pytest.mark.django_db


def _record(team: str, cost: str | None, days_ago: int = 0) -> None:
    UsageRecord.objects.create(
        created_at=timezone.now() - timedelta(days=days_ago, seconds=5),
        team_name=team,
        provider="openai",
        model_requested="gpt-4o",
        model_served="gpt-4o",
        status=200,
        cost_usd=Decimal(cost) if cost is not None else None,
        unpriced=cost is None,
    )


def _spend_section(output: str) -> list[str]:
    section = output.split("Spend (USD")[1].split("Latest requests")[0]
    return [line.split() for line in section.strip().splitlines()[3:]]  # after the header and rule


def test_status_shows_spend_per_team_and_the_unpriced_count() -> None:
    _record("core", "1.25")
    _record("core", "0.5")
    _record("core", None)
    _record("lab", None)  # nothing priced: a dash, not $0
    _record("core", "100", days_ago=40)  # an earlier month: not shown

    out = StringIO()
    call_command("status", stdout=out)
    rows = {row[0]: row[1:] for row in _spend_section(out.getvalue())}
    assert rows["core"][0] == "$1.75"  # today
    assert rows["core"][2] == "$1.75"  # this month
    assert rows["core"][3:] == ["3", "1"]  # requests, unpriced this month
    assert rows["lab"] == ["–", "–", "–", "1", "1"]
    assert rows["(all)"] == ["$1.75", "$1.75", "$1.75", "4", "2"]


def test_status_without_spend_says_so() -> None:
    out = StringIO()
    call_command("status", stdout=out)
    assert "No requests this week or month." in out.getvalue()
