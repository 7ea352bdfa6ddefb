"""The admin: pages render for staff, secrets are write-only and never shown."""

import pytest
from django.test import Client
from django.urls import reverse

from aliases.models import Alias
from providers.admin import MANAGED_NOTE, MANAGED_TITLE
from providers.crypto import decrypt_secret, fingerprint_secret
from providers.models import ApiKey, Provider, ProviderLoadResult, Source
from providers.services import api_key_create

pytestmark = pytest.mark.django_db

SECRET = "sk-admin-test-secret-5555555555"


@pytest.fixture
def provider() -> Provider:
    provider = Provider.objects.create(name="acme", base_url="https://acme.example/v1")
    api_key_create(provider=provider, secret=SECRET)
    ProviderLoadResult.objects.create(
        provider_name="acme", status="success", key_fingerprints=[fingerprint_secret(SECRET)]
    )
    Alias.objects.create(name="fast", target="acme:small")
    return provider


def _inline_management(prefix: str = "keys", total: int = 1, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _pages(provider: Provider) -> list[str]:
    key = provider.keys.get()
    alias = Alias.objects.get(name="fast")
    result = ProviderLoadResult.objects.get()
    return [
        reverse("admin:providers_provider_changelist"),
        reverse("admin:providers_provider_add"),
        reverse("admin:providers_provider_change", args=[provider.pk]),
        reverse("admin:providers_provider_history", args=[provider.pk]),
        reverse("admin:providers_apikey_changelist"),
        reverse("admin:providers_apikey_change", args=[key.pk]),
        reverse("admin:providers_providerloadresult_changelist"),
        reverse("admin:providers_providerloadresult_change", args=[result.pk]),
        reverse("admin:aliases_alias_changelist"),
        reverse("admin:aliases_alias_add"),
        reverse("admin:aliases_alias_change", args=[alias.pk]),
    ]


def test_pages_render_for_staff_and_never_show_the_secret(admin_client: Client, provider: Provider) -> None:
    for url in _pages(provider):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url
    changelist = admin_client.get(reverse("admin:providers_provider_changelist")).content.decode()
    assert (
        fingerprint_secret(SECRET)
        in admin_client.get(reverse("admin:providers_apikey_changelist")).content.decode()
    )
    assert "success" in changelist  # the last load status
    add_page = admin_client.get(reverse("admin:providers_provider_add")).content.decode()
    assert 'name="ambient_credentials"' in add_page  # the host's cloud identity: an explicit choice
    key_page = admin_client.get(reverse("admin:providers_apikey_change", args=[provider.keys.get().pk]))
    assert "Auto disabled" in key_page.content.decode()


def test_non_staff_are_sent_to_login(client: Client, django_user_model, provider: Provider) -> None:
    user = django_user_model.objects.create_user("plain", password="pw-123456")
    client.force_login(user)
    response = client.get(reverse("admin:providers_provider_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_add_provider_with_a_key_stores_it_encrypted(admin_client: Client) -> None:
    data = {
        "name": "newco",
        "api_format": "openai",
        "hosted_tools": "drop",
        "base_url": "https://newco.example/v1",
        "api_version": "",
        "timeout": "60",
        "max_retries": "2",
        "custom_headers": "{}",
        "models_list": "[]",
        "fallbacks": "[]",
        "enabled": "on",
        **_inline_management(),
        "keys-0-secret": SECRET,
        "keys-0-label": "main",
        "keys-0-enabled": "on",
    }
    response = admin_client.post(reverse("admin:providers_provider_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    key = ApiKey.objects.get(provider__name="newco")
    assert key.fingerprint == fingerprint_secret(SECRET)
    assert decrypt_secret(key.ciphertext) == SECRET
    assert SECRET not in key.ciphertext
    assert key.last4 == SECRET[-4:]


def test_a_failed_form_does_not_echo_the_secret(admin_client: Client) -> None:
    data = {
        "name": "Bad Name!",
        "api_format": "openai",
        "hosted_tools": "drop",
        "base_url": "",
        "timeout": "60",
        "max_retries": "2",
        "custom_headers": "{}",
        "models_list": "[]",
        "fallbacks": "[]",
        **_inline_management(),
        "keys-0-secret": SECRET,
    }
    response = admin_client.post(reverse("admin:providers_provider_add"), data)
    assert response.status_code == 200  # re-rendered with errors
    assert SECRET not in response.content.decode()
    assert not ApiKey.objects.exists()


def test_blank_secret_keeps_the_key(admin_client: Client, provider: Provider) -> None:
    key = provider.keys.get()
    response = admin_client.post(
        reverse("admin:providers_apikey_change", args=[key.pk]),
        {"secret": "", "label": "renamed", "enabled": "on"},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.label == "renamed"
    assert decrypt_secret(key.ciphertext) == SECRET


def test_managed_fields_are_read_only(admin_client: Client, provider: Provider) -> None:
    provider.source = Source.ENV
    provider.field_sources = {"base_url": "env"}
    provider.save()
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="base_url"' not in page
    assert "base_url (env)" in page
    admin_client.post(
        url,
        {
            "api_format": "openai",
            "hosted_tools": "drop",
            "base_url": "https://hijack.example/v1",
            "timeout": "60",
            "max_retries": "2",
            "custom_headers": "{}",
            "models_list": "[]",
            "fallbacks": "[]",
            **_inline_management(total=0),
        },
    )
    provider.refresh_from_db()
    assert provider.base_url == "https://acme.example/v1"


def test_every_field_a_load_manages_is_read_only_passthrough_too(
    admin_client: Client, provider: Provider
) -> None:
    provider.source = Source.ENV
    provider.field_sources = {"base_url": "file", "passthrough": "env"}
    provider.save()
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    page = admin_client.get(url).content.decode()
    for field in ("name", "base_url", "passthrough"):
        assert f'name="{field}"' not in page, field
    assert 'name="timeout"' in page
    assert MANAGED_TITLE in page
    assert MANAGED_NOTE in page
    form = {
        "name": "renamed",
        "api_format": "openai",
        "hosted_tools": "drop",
        "base_url": "https://hijack.example/v1",
        "passthrough": "on",
        "timeout": "60",
        "max_retries": "2",
        "custom_headers": "{}",
        "models_list": "[]",
        "fallbacks": "[]",
        **_inline_management(total=0),
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    provider.refresh_from_db()
    assert (provider.name, provider.base_url, provider.passthrough) == (
        "acme",
        "https://acme.example/v1",
        False,
    )
    assert provider.timeout == 60  # the unmanaged field did change: the form was accepted


def test_env_alias_is_read_only(admin_client: Client, provider: Provider) -> None:
    alias = Alias.objects.create(name="envy", target="acme:x", source=Source.ENV)
    page = admin_client.get(reverse("admin:aliases_alias_change", args=[alias.pk])).content.decode()
    assert 'name="target"' not in page


def test_enable_disable_actions(admin_client: Client, provider: Provider) -> None:
    key = provider.keys.get()
    url = reverse("admin:providers_apikey_changelist")
    admin_client.post(url, {"action": "disable", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.enabled is False
    admin_client.post(url, {"action": "enable", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.enabled is True
    admin_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "make_default", "_selected_action": [provider.pk]},
    )
    provider.refresh_from_db()
    assert provider.is_default


def test_lookups_on_the_ciphertext_are_refused(admin_client: Client, provider: Provider) -> None:
    response = admin_client.get(reverse("admin:providers_apikey_changelist") + "?ciphertext__startswith=g")
    assert response.status_code in (302, 400)
    assert "e=1" in response.get("Location", "e=1")


def test_changelist_makes_no_query_per_row(admin_client: Client, django_assert_max_num_queries) -> None:
    for index in range(30):
        api_key_create(
            provider=Provider.objects.create(name=f"p{index}", base_url="https://x/v1"),
            secret=f"sk-{index:030d}",
        )
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("admin:providers_provider_changelist")).status_code == 200
    with django_assert_max_num_queries(12):
        assert admin_client.get(reverse("admin:providers_apikey_changelist")).status_code == 200
