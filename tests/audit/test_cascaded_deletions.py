"""Deleting a provider deletes its keys and scoped aliases with it: the audit records each one,
by fingerprint, through the REST API, the admin's delete page and its bulk delete action."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from aliases.models import Alias
from apitokens.services import api_token_create
from audit.masking import MASK
from audit.models import AuditEntry
from providers.crypto import fingerprint_secret
from providers.models import ApiKey, Provider
from providers.services import api_key_create

SECRETS = ("sk-cascade-secret-1111111111111111", "sk-cascade-secret-2222222222222222")


def _via_api(provider: Provider, admin_client: Client, user: User) -> str:
    _, token = api_token_create(user=user, label="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.delete(f"/api/providers/{provider.name}/").status_code == 204
    return "api"


def _via_admin_page(provider: Provider, admin_client: Client, user: User) -> str:
    url = reverse("admin:providers_provider_delete", args=[provider.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    return "admin"


def _via_admin_action(provider: Provider, admin_client: Client, user: User) -> str:
    admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "delete_selected", "_selected_action": [provider.pk], "post": "yes"},
    )
    return "admin"


Deleter = Callable[[Provider, Client, User], str]


@pytest.mark.django_db
@pytest.mark.parametrize("delete", [_via_api, _via_admin_page, _via_admin_action])
def test_the_keys_deleted_with_a_provider_are_audited(
    delete: Deleter, admin_client: Client, admin_user: User
) -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme.example/v1")
    keys = [api_key_create(provider=provider, secret=secret) for secret in SECRETS]
    alias = Alias.objects.create(name="fast", target="acme:small", provider=provider)
    Alias.objects.create(name="global", target="acme:big")  # not scoped: survives
    provider_id = provider.pk

    source = delete(provider, admin_client, admin_user)

    assert not Provider.objects.exists()
    assert not ApiKey.objects.exists()
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("delete", "providers.provider", str(provider_id)),
        ("delete", "aliases.alias", str(alias.pk)),
        *(("delete", "providers.apikey", str(key.pk)) for key in keys),
    ]
    assert all((e.source, e.actor_name, e.after) == (source, "admin", None) for e in entries)
    key_entries = entries[2:]
    assert [e.object_repr for e in key_entries] == [f"acme key {key.masked}" for key in keys]
    for entry, secret in zip(key_entries, SECRETS, strict=True):
        assert entry.before is not None
        assert entry.before["fingerprint"] == fingerprint_secret(secret)
        assert entry.before["ciphertext"] == MASK
        assert "deleted with providers.provider acme" in entry.message
    text = " ".join(f"{e.object_repr} {e.message} {e.before} {e.after}" for e in entries)
    for secret in (*SECRETS, *(key.ciphertext for key in keys)):
        assert secret not in text
