"""The team page's money panel: daily spend chart (inline SVG), the keys' spend this
period and the budget states, from known usage records."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from teams.admin_spend import spend_bars_svg
from teams.models import Team, UsageRecord
from teams.services import gateway_key_create

pytestmark = pytest.mark.django_db


def _spend(
    team: Team, cost: str | None, key_id: int | None = None, prefix: str = "", days_ago: int = 0
) -> None:
    UsageRecord.objects.create(
        created_at=timezone.now() - timedelta(days=days_ago, seconds=5),
        team=team,
        team_name=team.name,
        key_id=key_id,
        key_prefix=prefix,
        provider="openai",
        model_requested="gpt-4o",
        model_served="gpt-4o",
        status=200,
        cost_usd=Decimal(cost) if cost is not None else None,
        unpriced=cost is None,
    )


def test_the_team_page_shows_its_spend_chart_keys_and_budget(admin_client: Client) -> None:
    team = Team.objects.create(name="core", spend_budget_usd=Decimal(20), spend_alert_percent=50)
    other = Team.objects.create(name="other")
    key, _ = gateway_key_create(team=team)
    _spend(team, "3", key.pk, key.prefix)
    _spend(team, "9.5", key.pk, key.prefix)
    _spend(team, None, key.pk, key.prefix, days_ago=2)
    _spend(team, "1", days_ago=45)  # older than the chart
    _spend(other, "1000")  # another team's

    response = admin_client.get(f"/admin/teams/team/{team.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg id="team-spend-chart"' in html
    assert html.count('class="spend-bar"') == 1  # today's
    assert 'data-usd="12.5000000000"' in html
    assert html.count('class="spend-unpriced"') == 1  # two days ago: unknown, not a $0 bar
    assert 'id="team-spend-total" data-value="12.5000000000">$12.50<' in html
    assert '<span id="team-spend-unpriced">1</span> unpriced request' in html
    keys = html.split('id="team-spend-keys"')[1].split("</table>")[0]
    assert key.prefix in keys
    assert "$12.50" in keys
    assert "$1,000" not in html
    budgets = html.split('id="team-spend-budgets"')[1].split("</table>")[0]
    assert "62.5 %" in budgets
    assert "over the 50 % alert" in budgets


def test_a_team_without_requests_or_budget_says_so(admin_client: Client) -> None:
    team = Team.objects.create(name="quiet")
    html = admin_client.get(f"/admin/teams/team/{team.pk}/change/").content.decode()
    assert '<svg id="team-spend-chart"' in html
    assert 'class="spend-bar"' not in html
    assert "No money budget on this team or its keys." in html
    assert admin_client.get("/admin/teams/team/add/").status_code == 200  # no panel before it exists


def test_bars_scale_to_the_dearest_day() -> None:
    days = [
        {"day": timezone.now().date() - timedelta(days=1), "cost_usd": Decimal(1), "unpriced_count": 0},
        {"day": timezone.now().date(), "cost_usd": Decimal(4), "unpriced_count": 0},
    ]
    svg = str(spend_bars_svg(days))
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[2:]]  # after the svg's own
    assert heights == [30.5, 122.0]
