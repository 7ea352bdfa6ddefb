"""Custom header values that hold secrets never reach the provider page: masked in the
form and in the read-only view of a managed row; a masked value posted back keeps the
stored one; every value is stored encrypted. Loaded providers cannot be deleted here (the
next load would bring them back)."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from audit.masking import MASK
from providers.headers import headers_open, provider_headers_set
from providers.models import Provider, Source

pytestmark = pytest.mark.django_db

TOKEN = "Bearer sk-header-secret-777777777777"
HEADERS = {"Authorization": TOKEN, "X-Title": "vandamme"}
# Secret by name only: the README's rule (*key*, *auth*, *signature*…), not a shape.
NAMED_SECRETS = {"Ocp-Apim-Subscription-Key": "apim-1234-sub", "X-Auth": "xauth-5678", "X-Signature": "sig-9"}


def _form(headers: dict[str, str]) -> dict[str, str]:
    return {
        "name": "acme",
        "api_format": "openai",
        "hosted_tools": "drop",
        "base_url": "https://acme.example/v1",
        "timeout": "60",
        "max_retries": "2",
        "custom_headers": json.dumps(headers),
        "models_list": "[]",
        "fallbacks": "[]",
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
        "keys-MIN_NUM_FORMS": "0",
        "keys-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def provider() -> Provider:
    provider = Provider(name="acme", base_url="https://acme.example/v1")
    provider_headers_set(provider=provider, headers=HEADERS)
    provider.save()
    return provider


def _change_url(provider: Provider) -> str:
    return reverse("admin:providers_provider_change", args=[provider.pk])


def test_the_form_shows_secret_headers_masked(admin_client: Client, provider: Provider) -> None:
    page = admin_client.get(_change_url(provider)).content.decode()
    assert "sk-header-secret" not in page
    assert MASK in page
    assert "vandamme" in page  # a harmless header is shown as it is


def test_a_masked_value_posted_back_keeps_the_stored_one(admin_client: Client, provider: Provider) -> None:
    response = admin_client.post(_change_url(provider), _form({"Authorization": MASK, "X-Title": "renamed"}))
    assert response.status_code == 302, response.content.decode()[:2000]
    provider.refresh_from_db()
    assert headers_open(provider.sealed_headers) == {"Authorization": TOKEN, "X-Title": "renamed"}
    assert provider.custom_headers == {"Authorization": MASK, "X-Title": "renamed"}


def test_a_mask_with_nothing_stored_is_refused(admin_client: Client, provider: Provider) -> None:
    response = admin_client.post(_change_url(provider), _form({"x-api-key": MASK}))
    assert response.status_code == 200
    assert "no stored value to keep for x-api-key" in response.content.decode()
    provider.refresh_from_db()
    assert headers_open(provider.sealed_headers) == HEADERS


def test_managed_headers_are_shown_masked_and_read_only(admin_client: Client, provider: Provider) -> None:
    provider.source = Source.ENV
    provider.field_sources = {"custom_headers": "env"}
    provider.save()
    page = admin_client.get(_change_url(provider)).content.decode()
    assert 'name="custom_headers"' not in page
    assert "sk-header-secret" not in page
    assert MASK in page


def test_a_loaded_provider_cannot_be_deleted_here(admin_client: Client, provider: Provider) -> None:
    provider.source = Source.FILE
    provider.save()
    delete_url = reverse("admin:providers_provider_delete", args=[provider.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:providers_provider_changelist")
    admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [provider.pk], "post": "yes"}
    )
    assert Provider.objects.filter(pk=provider.pk).exists()


def test_a_provider_made_here_can_be_deleted_here(admin_client: Client, provider: Provider) -> None:
    delete_url = reverse("admin:providers_provider_delete", args=[provider.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Provider.objects.filter(pk=provider.pk).exists()


def test_headers_secret_by_name_are_masked_and_every_value_is_encrypted(
    admin_client: Client, provider: Provider
) -> None:
    headers = {**NAMED_SECRETS, "X-Title": "vandamme"}
    response = admin_client.post(_change_url(provider), _form(headers))
    assert response.status_code == 302, response.content.decode()[:2000]
    page = admin_client.get(_change_url(provider)).content.decode()
    stored = json.dumps(list(Provider.objects.filter(pk=provider.pk).values()), default=str)
    for value in NAMED_SECRETS.values():
        assert value not in page
        assert value not in stored  # at rest: only their Fernet tokens
    assert "vandamme" in page
    provider.refresh_from_db()
    assert headers_open(provider.sealed_headers) == headers


def test_custom_headers_stay_out_of_error_reports(admin_client: Client, provider: Provider) -> None:
    """What Django's error report (500 mail, debug page) would show of the POST."""
    response = admin_client.post(_change_url(provider), _form({"X-Auth": "xauth-in-a-crash-report"}))
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    assert "xauth-in-a-crash-report" not in str(shown)
    assert shown["custom_headers"] == SafeExceptionReporterFilter.cleansed_substitute
