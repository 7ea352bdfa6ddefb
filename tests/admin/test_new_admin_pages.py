"""Admin pages of API tokens, usage records and the audit log render and show no secret;
clearing the default provider with a bulk update still reaches the gateways."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apitokens.services import api_token_create
from audit.models import AuditEntry
from providers.generation import config_generation_get
from providers.models import Provider
from providers.services import provider_set_default
from teams.models import Team, UsageRecord


@pytest.mark.django_db
def test_pages_render_without_secrets(admin_client: Client, admin_user: User) -> None:
    token, plaintext = api_token_create(user=admin_user, label="ci")
    team = Team.objects.create(name="core")
    record = UsageRecord.objects.create(
        created_at=datetime.now(tz=UTC),
        team=team,
        team_name="core",
        provider="p",
        model_requested="m",
        model_served="m",
        status=200,
    )
    admin_client.post(
        reverse("admin:teams_team_changelist"), {"action": "create_key", "_selected_action": [team.pk]}
    )
    entry = AuditEntry.objects.get()
    pages = [
        reverse("admin:apitokens_apitoken_changelist"),
        reverse("admin:apitokens_apitoken_change", args=[token.pk]),
        reverse("admin:teams_usagerecord_changelist"),
        reverse("admin:teams_usagerecord_change", args=[record.pk]),
        reverse("admin:audit_auditentry_changelist"),
        reverse("admin:audit_auditentry_change", args=[entry.pk]),
        reverse("admin:teams_team_change", args=[team.pk]),
        reverse("admin:teams_gatewaykey_changelist"),
    ]
    key_hash = team.keys.get().key_hash
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert plaintext not in body, url
        assert token.token_hash not in body, url
        assert key_hash not in body, url
    assert token.masked in admin_client.get(pages[0]).content.decode()
    assert admin_client.get(reverse("admin:apitokens_apitoken_add")).status_code == 403
    refused = admin_client.get(pages[0] + f"?token_hash={token.token_hash}")
    assert refused.status_code in (302, 400)


@pytest.mark.django_db(transaction=True)
def test_clearing_the_default_bumps_the_generation() -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme/v1", is_default=True)
    before = config_generation_get()
    provider_set_default(provider=None)
    assert config_generation_get() == before + 1
    provider.refresh_from_db()
    assert not provider.is_default
