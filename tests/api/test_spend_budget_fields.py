"""The spend budget fields in the admin (team and gateway key pages) and the REST API:
saved as given, and bad input (negative, not a number, too many decimals, an alert
percent out of 1-100, an unknown period) refused naming the field."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from teams.models import GatewayKey, Team
from teams.services import gateway_key_create
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db


def _inline(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _team_form(**fields: str) -> dict[str, str]:
    return {
        "name": "core",
        "enabled": "on",
        "allowed_providers": "[]",
        "allowed_models": "[]",
        "hosted_tools": "",
        "budget_period": "month",
        "spend_budget_period": "month",
        "spend_alert_percent": "80",
        **_inline("keys"),
        **_inline("aliases"),
        **fields,
    }


def test_the_admin_saves_a_teams_spend_budget(admin_client: Client) -> None:
    form = _team_form(spend_budget_usd="12.50", spend_budget_period="week", spend_alert_percent="90")
    response = admin_client.post(reverse("admin:teams_team_add"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    team = Team.objects.get()
    assert (team.spend_budget_usd, team.spend_budget_period, team.spend_alert_percent) == (
        Decimal("12.50"),
        "week",
        90,
    )
    page = admin_client.get(reverse("admin:teams_team_change", args=[team.pk])).content.decode()
    assert "Spend budget" in page
    assert "12.5" in admin_client.get(reverse("admin:teams_team_changelist")).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("spend_budget_usd", "-1", "greater than or equal to 0"),
        ("spend_budget_usd", "ten dollars", "Enter a number"),
        ("spend_budget_usd", "1.00001", "no more than 4 decimal places"),
        ("spend_alert_percent", "0", "greater than or equal to 1"),
        ("spend_alert_percent", "101", "less than or equal to 100"),
        ("spend_budget_period", "year", "Select a valid choice"),
    ],
)
def test_the_admin_refuses_bad_spend_fields(admin_client: Client, field: str, value: str, error: str) -> None:
    response = admin_client.post(reverse("admin:teams_team_add"), _team_form(**{field: value}))
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert error in str(errors[field])
    assert not Team.objects.exists()


def test_a_key_made_on_the_team_page_keeps_its_spend_budget(admin_client: Client) -> None:
    team = Team.objects.create(name="core")
    form = _team_form(**_inline("keys", total=1))
    form.update({"keys-0-label": "ci", "keys-0-enabled": "on", "keys-0-spend_budget_usd": "3"})
    form.update({"keys-0-spend_budget_period": "day"})
    response = admin_client.post(reverse("admin:teams_team_change", args=[team.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    key = GatewayKey.objects.get()
    assert (key.spend_budget_usd, key.spend_budget_period) == (Decimal(3), "day")


def test_the_gateway_key_page_refuses_a_negative_budget(admin_client: Client) -> None:
    key, _ = gateway_key_create(team=Team.objects.create(name="core"))
    url = reverse("admin:teams_gatewaykey_change", args=[key.pk])
    form = {"label": "", "enabled": "on", "spend_budget_usd": "-0.01", "spend_budget_period": "month"}
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "spend_budget_usd" in response.context["adminform"].form.errors
    form["spend_budget_usd"] = "0.01"
    assert admin_client.post(url, form).status_code == 302
    key.refresh_from_db()
    assert key.spend_budget_usd == Decimal("0.01")


def test_the_api_sets_and_clears_spend_budgets(api: RecordingClient) -> None:
    created = api.post(
        "/api/teams/",
        {"name": "core", "spend_budget_usd": "10", "spend_budget_period": "day", "spend_alert_percent": 75},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["spend_budget_usd"], body["spend_budget_period"], body["spend_alert_percent"]) == (
        "10.0000",
        "day",
        75,
    )
    url = f"/api/teams/{body['id']}/"
    assert api.patch(url, {"spend_budget_usd": 2.5}, format="json").json()["spend_budget_usd"] == "2.5000"
    assert api.patch(url, {"spend_budget_usd": None}, format="json").json()["spend_budget_usd"] is None
    key = api.post(
        "/api/gateway-keys/", {"team": body["id"], "spend_budget_usd": "1.25", "spend_budget_period": "week"},
        format="json",
    )  # fmt: skip
    assert key.status_code == 201, key.content
    assert (key.json()["spend_budget_usd"], key.json()["spend_budget_period"]) == ("1.2500", "week")
    stored = GatewayKey.objects.get()
    assert (stored.spend_budget_usd, stored.spend_budget_period) == (Decimal("1.25"), "week")
    patched = api.patch(f"/api/gateway-keys/{stored.pk}/", {"spend_budget_usd": "4"}, format="json")
    assert patched.json()["spend_budget_usd"] == "4.0000"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"spend_budget_usd": -1}, "spend_budget_usd", "cannot be negative"),
        ({"spend_budget_usd": "lots"}, "spend_budget_usd", "A number of US dollars is required"),
        ({"spend_budget_usd": [1]}, "spend_budget_usd", "A number of US dollars is required"),
        ({"spend_budget_usd": "0.00001"}, "spend_budget_usd", "At most 4 decimal places"),
        ({"spend_budget_usd": "NaN"}, "spend_budget_usd", "A number of US dollars is required"),
        ({"spend_alert_percent": 0}, "spend_alert_percent", "greater than or equal to 1"),
        ({"spend_alert_percent": 150}, "spend_alert_percent", "less than or equal to 100"),
        ({"spend_budget_period": "year"}, "spend_budget_period", "not a valid choice"),
    ],
)
def test_the_api_refuses_bad_team_spend_fields_naming_them(
    api: RecordingClient, body: dict[str, Any], field: str, message: str
) -> None:
    response = api.post("/api/teams/", {"name": "core", **body}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field], errors
    assert message in str(errors[field])
    assert not Team.objects.exists()


def test_the_api_refuses_a_negative_key_budget(api: RecordingClient) -> None:
    team = Team.objects.create(name="core")
    response = api.post("/api/gateway-keys/", {"team": team.pk, "spend_budget_usd": "-5"}, format="json")
    assert response.status_code == 400
    assert "cannot be negative" in str(response.json()["spend_budget_usd"])
    key, _ = gateway_key_create(team=team)
    patched = api.patch(f"/api/gateway-keys/{key.pk}/", {"spend_budget_usd": "abc"}, format="json")
    assert patched.status_code == 400
    assert list(patched.json()) == ["spend_budget_usd"]
