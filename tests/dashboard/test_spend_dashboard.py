"""The dashboard's money: the spend chart's data, top spending teams and keys, unpriced
models and the budgets at or over their alert threshold, from known usage records."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from teams.models import Team, UsageRecord
from teams.money_text import format_usd
from teams.services import gateway_key_create

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/dashboard/"


def _spend(
    team: Team, cost: str | None, key_id: int | None = None, prefix: str = "", **fields: object
) -> None:
    values: dict[str, object] = {
        "provider": "openai",
        "model_requested": "gpt-4o",
        "model_served": "gpt-4o",
        "status": 200,
    }
    values.update(fields)
    UsageRecord.objects.create(
        created_at=timezone.now() - timedelta(seconds=5),
        team=team,
        team_name=team.name,
        key_id=key_id,
        key_prefix=prefix,
        cost_usd=Decimal(cost) if cost is not None else None,
        unpriced=cost is None,
        **values,
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "–"),
        (Decimal(0), "$0.00"),
        (Decimal("1.5"), "$1.50"),
        (Decimal("0.0000012345"), "$0.000001"),
        (Decimal("0.0000001"), "<$0.000001"),
        (Decimal("1234.5"), "$1,234.50"),
    ],
)
def test_dollars_are_shown_to_the_cent_or_finer_and_unknown_is_a_dash(
    value: Decimal | None, shown: str
) -> None:
    assert format_usd(value) == shown


def test_the_dashboard_shows_spend_top_spenders_unpriced_models_and_alerting_budgets(
    admin_client: Client,
) -> None:
    big = Team.objects.create(name="big", spend_budget_usd=Decimal(10), spend_alert_percent=50)
    small = Team.objects.create(name="small", spend_budget_usd=Decimal(100))  # 1 %: not listed
    key, _ = gateway_key_create(team=big)
    _spend(big, "4", key.pk, key.prefix)
    _spend(big, "2.25", key.pk, key.prefix)
    _spend(small, "1")
    _spend(small, None, provider="local", model_served="mystery-7b")

    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    spend = response.context["spend"]
    assert [(row["team"], row["month_usd"]) for row in spend["teams"]] == [
        ("big", Decimal("6.25")),
        ("small", Decimal(1)),
    ]
    assert spend["teams"][1]["month_unpriced"] == 1
    assert (spend["keys"][0]["key_id"], spend["keys"][0]["day_usd"]) == (key.pk, Decimal("6.25"))
    assert [(m["provider"], m["model"], m["count"]) for m in spend["unpriced_models"]] == [
        ("local", "mystery-7b", 1)
    ]
    assert [(b.name, b.percent) for b in spend["budgets"]] == [("big", 62.5)]

    html = response.content.decode()
    assert 'id="chart-spend"' in html
    assert 'data-value="6.2500000000">$6.25<' in html  # the team's and the key's month
    assert "mystery-7b" in html
    budgets = html.split('id="spend-budgets"')[1].split("</table>")[0]
    assert "big" in budgets
    assert "62.5 %" in budgets
    assert "small" not in budgets
    chart = json.loads(html.split('id="spend-data" type="application/json">')[1].split("</script>")[0])
    assert len(chart["labels"]) == 30
    assert chart["series"]["big"][-1] == 6.25  # today, the last point
    assert chart["series"]["small"][-1] == 1.0
    assert sum(chart["series"]["big"][:-1]) == 0


def test_without_money_the_spend_section_says_so(admin_client: Client) -> None:
    html = admin_client.get(DASHBOARD).content.decode()
    assert "No requests this week or month." in html
    assert "Every model served has a price." in html
    assert "No money budget has reached its alert threshold." in html
