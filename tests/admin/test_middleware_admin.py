"""Middleware in the admin: a provider's and a team's field, checked before it is saved."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from providers.models import Provider
from teams.models import Team

pytestmark = pytest.mark.django_db

GUARDRAIL = [{"path": "routing.middleware.guardrail.Guardrail", "options": {}, "on_error": "refuse"}]


def test_the_provider_and_team_pages_show_the_middleware_field(admin_client: Client) -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme.example/v1", middleware=GUARDRAIL)
    team = Team.objects.create(name="core", middleware=GUARDRAIL)
    for url in (
        reverse("admin:providers_provider_change", args=[provider.pk]),
        reverse("admin:teams_team_change", args=[team.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert 'name="middleware"' in page
        assert "routing.middleware.guardrail.Guardrail" in page


def test_a_team_middleware_that_cannot_be_imported_is_refused_on_the_page(admin_client: Client) -> None:
    team = Team.objects.create(name="core")
    url = reverse("admin:teams_team_change", args=[team.pk])
    form = {
        "name": "core",
        "enabled": "on",
        "budget_period": "month",
        "spend_budget_period": "month",
        "spend_alert_percent": "80",
        "middleware": json.dumps([{"path": "nowhere.Missing"}]),
        **{
            f"{prefix}-{field}": value
            for prefix in ("keys", "aliases")
            for field, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
        },
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200  # the form again, with the error
    assert "cannot be imported" in response.content.decode()
    team.refresh_from_db()
    assert team.middleware == []
