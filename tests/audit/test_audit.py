"""The audit log: admin and API changes recorded with secrets masked; read-only in the admin."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.masking import MASK, mask_secrets
from audit.models import AuditEntry
from providers.crypto import fingerprint_secret
from providers.models import ApiKey, Provider
from providers.services import api_key_create
from teams.models import GatewayKey, Team, UsageRecord
from tests.admin.test_admin import _inline_management

SECRET = "sk-audit-secret-7777777777777777"
HEADER_SECRET = "hdr-audit-secret-8888"


def test_masking_is_by_name_at_any_depth() -> None:
    state = {
        "ciphertext": "gAAAA",
        "key_hash": "ab12",
        "label": "main",
        "tokens_per_minute": 100,
        "custom_headers": {"Authorization": "Bearer x", "X-Api-Key": "k", "X-Title": "t"},
        "nested": [{"password": "p", "empty_secret": ""}],
    }
    assert mask_secrets(state) == {
        "ciphertext": MASK,
        "key_hash": MASK,
        "label": "main",
        "tokens_per_minute": 100,
        "custom_headers": {"Authorization": MASK, "X-Api-Key": MASK, "X-Title": "t"},
        "nested": [{"password": MASK, "empty_secret": ""}],
    }


def test_headers_are_masked_by_the_readmes_name_rule() -> None:
    """Any header whose name holds key, token, secret, auth, passw, signature, cookie,
    credential or session; the broad rule applies to headers, not to every field."""
    names: tuple[str, ...] = ("Ocp-Apim-Subscription-Key", "X-Auth", "X-Amz-Security-Token")
    names += (
        "X-Client-Secret",
        "X-Upstream-Password",
        "X-Signature",
        "Cookie",
        "X-Credential",
        "X-Session-Id",
    )
    headers = dict.fromkeys(names, "v")
    state = {"requires_key": True, "sealed_headers": {"X-Title": "gAAAA"}, "custom_headers": headers}
    masked = mask_secrets({**state, "custom_headers": {**headers, "X-Title": "t", "Accept": "json"}})
    assert masked == {
        "requires_key": True,
        "sealed_headers": MASK,
        "custom_headers": {**dict.fromkeys(headers, MASK), "X-Title": "t", "Accept": "json"},
    }


def _field(state: dict[str, Any] | None, name: str) -> Any:
    assert state is not None
    return state[name]


def _all_audit_text() -> str:
    return " ".join(f"{e.object_repr} {e.message} {e.before} {e.after}" for e in AuditEntry.objects.all())


def _provider_form(**fields: str) -> dict[str, str]:
    return {
        "name": "newco",
        "api_format": "openai",
        "hosted_tools": "drop",
        # As the admin's form shows them once saved (guessed: not declared).
        "family": "compatible",
        "responses_api": "false",
        "base_url": "https://newco.example/v1",
        "api_version": "",
        "timeout": "60",
        "max_retries": "2",
        "custom_headers": f'{{"Authorization": "{HEADER_SECRET}"}}',
        "models_list": "[]",
        "fallbacks": "[]",
        "enabled": "on",
        **fields,
    }


@pytest.mark.django_db
def test_admin_add_change_delete_and_inline_keys_are_audited(admin_client: Client, admin_user: User) -> None:
    add = admin_client.post(
        reverse("admin:providers_provider_add"),
        {**_provider_form(), **_inline_management(), "keys-0-secret": SECRET, "keys-0-enabled": "on"},
    )
    assert add.status_code == 302, add.content.decode()[:1000]
    provider = Provider.objects.get()
    key = ApiKey.objects.get()
    change = admin_client.post(
        reverse("admin:providers_provider_change", args=[provider.pk]),
        {
            **_provider_form(timeout="30"),
            **_inline_management(total=1, initial=1),
            "keys-0-id": str(key.pk),
            "keys-0-provider": str(provider.pk),
            "keys-0-secret": "",
            "keys-0-label": "renamed",
            "keys-0-enabled": "on",
        },
    )
    assert change.status_code == 302, change.content.decode()[:1000]
    delete = admin_client.post(
        reverse("admin:providers_provider_delete", args=[provider.pk]), {"post": "yes"}
    )
    assert delete.status_code == 302
    entries = list(AuditEntry.objects.order_by("id"))
    # The admin saves inlines before it logs their parent.
    assert [(e.action, e.object_type) for e in entries] == [
        ("create", "providers.apikey"),
        ("create", "providers.provider"),
        ("update", "providers.apikey"),
        ("update", "providers.provider"),
        ("delete", "providers.provider"),
        ("delete", "providers.apikey"),  # deleted with its provider
    ]
    assert all((e.source, e.actor_name, e.actor_id) == ("admin", "admin", admin_user.pk) for e in entries)
    key_update, provider_update = entries[2], entries[3]
    assert (_field(provider_update.before, "timeout"), _field(provider_update.after, "timeout")) == (
        60.0,
        30.0,
    )
    assert "Changed Timeout" in provider_update.message
    assert (key_update.before, _field(key_update.after, "label")) == ({"label": ""}, "renamed")
    assert _field(entries[0].after, "fingerprint") == fingerprint_secret(SECRET)
    assert entries[4].object_id == str(provider.pk)
    assert entries[4].after is None
    text = _all_audit_text()
    assert SECRET not in text
    assert HEADER_SECRET not in text


@pytest.mark.django_db
def test_admin_actions_are_audited(admin_client: Client) -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme/v1")
    key = api_key_create(provider=provider, secret=SECRET)
    admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "disable", "_selected_action": [provider.pk]},
    )
    admin_client.post(
        reverse("admin:providers_apikey_changelist"), {"action": "disable", "_selected_action": [key.pk]}
    )
    admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "make_default", "_selected_action": [provider.pk]},
    )
    team = Team.objects.create(name="core")
    admin_client.post(
        reverse("admin:teams_team_changelist"), {"action": "create_key", "_selected_action": [team.pk]}
    )
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_type, e.message) for e in entries] == [
        ("update", "providers.provider", "disabled"),
        ("update", "providers.apikey", "disabled"),
        ("update", "providers.provider", "made the default provider"),
        ("create", "teams.gatewaykey", "created from the team list"),
    ]
    assert (_field(entries[0].before, "enabled"), _field(entries[0].after, "enabled")) == (True, False)
    assert (_field(entries[2].before, "is_default"), _field(entries[2].after, "is_default")) == (False, True)
    gateway_key = GatewayKey.objects.get()
    assert gateway_key.key_hash not in _all_audit_text()
    assert SECRET not in _all_audit_text()


@pytest.mark.django_db
def test_bulk_delete_in_the_admin_is_audited(admin_client: Client) -> None:
    teams = [Team.objects.create(name=f"t{i}") for i in range(3)]
    admin_client.post(
        reverse("admin:teams_team_changelist"),
        {"action": "delete_selected", "_selected_action": [t.pk for t in teams], "post": "yes"},
    )
    assert not Team.objects.exists()
    assert sorted(AuditEntry.objects.filter(action="delete").values_list("object_repr", flat=True)) == [
        "t0",
        "t1",
        "t2",
    ]


@pytest.mark.django_db
def test_the_audit_log_is_read_only_in_the_admin(admin_client: Client) -> None:
    Provider.objects.create(name="acme", base_url="https://acme/v1")
    admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "enable", "_selected_action": [Provider.objects.get().pk]},
    )
    entry = AuditEntry.objects.get()
    changelist = admin_client.get(reverse("admin:audit_auditentry_changelist") + "?action=update&q=acme")
    assert changelist.status_code == 200
    assert "acme" in changelist.content.decode()
    page = admin_client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).content.decode()
    assert "&quot;enabled&quot;: true" in page
    assert 'name="_save"' not in page
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = admin_client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_team_admin_shows_limits_and_usage(admin_client: Client) -> None:
    team = Team.objects.create(name="core", requests_per_minute=60, token_budget=1000, budget_period="week")
    now = datetime.now(tz=UTC)
    for provider, latency in (("openai", 100), ("openai", 300), ("anthropic", 50)):
        UsageRecord.objects.create(
            created_at=now,
            team=team,
            team_name="core",
            provider=provider,
            model_requested="m",
            model_served=f"{provider}-model",
            status=200,
            input_tokens=10,
            latency_ms=latency,
        )
    page = admin_client.get(reverse("admin:teams_team_change", args=[team.pk])).content.decode()
    for field in ("requests_per_minute", "tokens_per_minute", "token_budget", "budget_period"):
        assert f'name="{field}"' in page
    assert "openai-model" in page
    assert "<td>openai</td><td>2</td><td>20</td>" in page
    assert f"<td>{now.date().isoformat()}</td><td>3</td>" in page
    changelist = admin_client.get(reverse("admin:teams_team_changelist")).content.decode()
    assert "week" in changelist


@pytest.mark.django_db
def test_usage_changelist_makes_no_query_per_row(admin_client: Client, django_assert_max_num_queries) -> None:
    teams = [Team.objects.create(name=f"team-{i}") for i in range(5)]
    now = datetime.now(tz=UTC)
    UsageRecord.objects.bulk_create(
        UsageRecord(
            created_at=now,
            team=teams[i % 5],
            team_name=teams[i % 5].name,
            provider="openai",
            model_requested="m",
            model_served="m",
            status=200,
        )
        for i in range(150)
    )
    url = reverse("admin:teams_usagerecord_changelist")
    with django_assert_max_num_queries(10):
        page = admin_client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("team-") >= 100
    with django_assert_max_num_queries(10):
        assert admin_client.get(url + "?p=1").status_code == 200
