"""REST API: providers, their key pools and the load summary."""

import pytest

from audit.models import AuditEntry
from providers.crypto import decrypt_secret, fingerprint_secret
from providers.headers import headers_open
from providers.models import ApiKey, Provider, ProviderLoadResult, Source
from providers.services import api_key_create
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db

SECRET = "sk-api-test-secret-1111111111111111"
OTHER_SECRET = "sk-api-test-secret-2222222222222222"
HEADER_SECRET = "Bearer hdr-secret-3333333333"


def _create_provider(api: RecordingClient, **fields: object) -> dict[str, object]:
    body = {"name": "acme", "base_url": "https://acme.example/v1", **fields}
    response = api.post("/api/providers/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_provider_crud(api: RecordingClient) -> None:
    created = _create_provider(api, models=["big", "small"], timeout=60, is_default=True)
    assert created["source"] == "admin"
    assert created["models"] == ["big", "small"]
    assert created["is_default"] is True
    assert api.get("/api/providers/").json()["results"][0]["name"] == "acme"
    assert api.get("/api/providers/acme/").json()["timeout"] == 60
    patched = api.patch("/api/providers/acme/", {"enabled": False, "fallbacks": ["other"]}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["enabled"], patched.json()["fallbacks"]) == (False, ["other"])
    replaced = api.put(
        "/api/providers/acme/", {"name": "acme", "base_url": "https://new.example/v1"}, format="json"
    )
    assert replaced.status_code == 200, replaced.content
    assert Provider.objects.get().base_url == "https://new.example/v1"
    assert api.delete("/api/providers/acme/").status_code == 204
    assert not Provider.objects.exists()


def test_provider_validation_errors_are_400_with_the_field(api: RecordingClient) -> None:
    response = api.post("/api/providers/", {"name": "Bad Name!", "base_url": "https://x/v1"}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    no_url = api.post("/api/providers/", {"name": "nourl", "base_url": ""}, format="json")
    assert no_url.status_code == 400  # the model's own rule (Bedrock/Vertex may use a region instead)
    assert "base_url" in no_url.json()
    bedrock = {"name": "aws", "api_format": "bedrock", "region": "eu-west-1", "ambient_credentials": True}
    created = api.post("/api/providers/", bedrock, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["region"], created.json()["ambient_credentials"]) == ("eu-west-1", True)
    # The host's cloud identity is opt-in: off unless asked for.
    other = api.post("/api/providers/", {"name": "aws2", "api_format": "bedrock", "region": "eu-west-1"})
    assert other.json()["ambient_credentials"] is False
    _create_provider(api)
    assert api.post("/api/providers/", {"name": "acme", "base_url": "https://x/v1"}).status_code == 400
    bad_format = api.post("/api/providers/", {"name": "b", "base_url": "https://x", "api_format": "soap"})
    assert bad_format.status_code == 400
    assert "api_format" in bad_format.json()


def test_only_one_default_provider(api: RecordingClient) -> None:
    _create_provider(api, is_default=True)
    beta = api.post("/api/providers/", {"name": "beta", "base_url": "https://b/v1", "is_default": True})
    assert beta.status_code == 201, beta.content
    assert list(Provider.objects.filter(is_default=True).values_list("name", flat=True)) == ["beta"]
    api.patch("/api/providers/beta/", {"is_default": False}, format="json")
    assert not Provider.objects.filter(is_default=True).exists()


def test_managed_fields_are_refused_with_409(api: RecordingClient) -> None:
    Provider.objects.create(
        name="openai",
        base_url="https://api.openai.com/v1",
        source=Source.ENV,
        field_sources={"base_url": "env", "timeout": "file"},
    )
    response = api.patch("/api/providers/openai/", {"base_url": "https://hijack.example/v1"}, format="json")
    assert response.status_code == 409
    assert "base_url" in response.json()["detail"]
    assert Provider.objects.get().base_url == "https://api.openai.com/v1"
    # Unmanaged fields may change; sending a managed field unchanged (a PUT) is fine.
    assert api.patch("/api/providers/openai/", {"max_retries": 5}, format="json").status_code == 200
    same = api.put(
        "/api/providers/openai/",
        {"name": "openai", "base_url": "https://api.openai.com/v1", "max_retries": 4},
        format="json",
    )
    assert same.status_code == 200, same.content
    assert api.patch("/api/providers/openai/", {"name": "renamed"}, format="json").status_code == 409
    assert api.delete("/api/providers/openai/").status_code == 409
    assert Provider.objects.filter(name="openai").exists()


def test_secret_headers_are_masked_and_kept(api: RecordingClient) -> None:
    created = _create_provider(api, custom_headers={"Authorization": HEADER_SECRET, "X-Title": "vandamme"})
    assert created["custom_headers"] == {"Authorization": "••••••", "X-Title": "vandamme"}
    # Sending the masked value back keeps the stored one.
    api.patch("/api/providers/acme/", {"custom_headers": created["custom_headers"]}, format="json")
    assert headers_open(Provider.objects.get().sealed_headers)["Authorization"] == HEADER_SECRET
    api.assert_never_sent(HEADER_SECRET)


def test_headers_secret_by_name_are_masked_in_the_api_and_the_audit_log(api: RecordingClient) -> None:
    """The README's rule: a header whose name holds key, auth, signature… is secret,
    whatever its value looks like; every value is stored encrypted."""
    named = {"Ocp-Apim-Subscription-Key": "apim-4242-sub", "X-Auth": "xauth-4242", "X-Signature": "sig-4242"}
    created = _create_provider(api, custom_headers={**named, "X-Title": "vandamme"})
    assert created["custom_headers"] == {**dict.fromkeys(named, "••••••"), "X-Title": "vandamme"}
    api.get("/api/providers/acme/")
    api.get("/api/audit/")
    api.assert_never_sent(*named.values())
    at_rest = str(list(Provider.objects.values())) + str(list(AuditEntry.objects.values()))
    assert not [value for value in named.values() if value in at_rest]
    assert headers_open(Provider.objects.get().sealed_headers) == {**named, "X-Title": "vandamme"}


def test_key_crud_never_returns_the_secret(api: RecordingClient) -> None:
    _create_provider(api)
    created = api.post(
        "/api/api-keys/", {"provider": "acme", "secret": SECRET, "label": "main"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert "secret" not in body
    assert (body["fingerprint"], body["last4"]) == (fingerprint_secret(SECRET), SECRET[-4:])
    key = ApiKey.objects.get()
    assert decrypt_secret(key.ciphertext) == SECRET
    key_url = f"/api/api-keys/{key.pk}/"
    assert api.get("/api/api-keys/?provider=acme").json()["count"] == 1
    assert api.get("/api/api-keys/?provider=other").json()["count"] == 0
    replaced = api.patch(key_url, {"secret": OTHER_SECRET, "enabled": False}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["last4"] == OTHER_SECRET[-4:]
    key.refresh_from_db()
    assert (decrypt_secret(key.ciphertext), key.enabled, key.label) == (OTHER_SECRET, False, "main")
    assert api.get(key_url).json()["fingerprint"] == fingerprint_secret(OTHER_SECRET)
    assert api.delete(key_url).status_code == 204
    assert not ApiKey.objects.exists()
    api.assert_never_sent(SECRET, OTHER_SECRET, key.ciphertext)


def test_key_errors(api: RecordingClient) -> None:
    _create_provider(api)
    assert api.post("/api/api-keys/", {"provider": "acme"}).json() == {"secret": ["Enter the API key."]}
    assert api.post("/api/api-keys/", {"provider": "nope", "secret": SECRET}).status_code == 400
    assert api.post("/api/api-keys/", {"provider": "acme", "secret": SECRET}).status_code == 201
    duplicate = api.post("/api/api-keys/", {"provider": "acme", "secret": SECRET})
    assert duplicate.status_code == 409
    api.assert_never_sent(SECRET)


def test_managed_keys_may_only_be_toggled(api: RecordingClient) -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme/v1", source=Source.ENV)
    key = api_key_create(provider=provider, secret=SECRET, source=Source.ENV)
    url = f"/api/api-keys/{key.pk}/"
    assert api.patch(url, {"secret": OTHER_SECRET}, format="json").status_code == 409
    assert api.patch(url, {"label": "x"}, format="json").status_code == 409
    assert api.patch(url, {"enabled": False}, format="json").status_code == 200
    assert api.delete(url).status_code == 409
    key.refresh_from_db()
    assert (decrypt_secret(key.ciphertext), key.enabled) == (SECRET, False)
    assert api.patch(url, {"provider": "other"}, format="json").status_code == 400


def test_load_summary_lists_the_last_load(api: RecordingClient) -> None:
    ProviderLoadResult.objects.create(provider_name="zeta", status="success", key_fingerprints=["abc"])
    ProviderLoadResult.objects.create(
        provider_name="alpha", status="inactive", message="no API key configured"
    )
    ProviderLoadResult.objects.create(provider_name="beta", status="failure", message="bad base URL")
    rows = api.get("/api/load-summary/").json()
    assert [(r["provider_name"], r["status"]) for r in rows] == [
        ("beta", "failure"),
        ("zeta", "success"),
        ("alpha", "inactive"),
    ]
    assert rows[1]["key_fingerprints"] == ["abc"]
    assert api.get("/api/load-summary/beta/").json()["message"] == "bad base URL"


def test_every_write_is_audited(api: RecordingClient, staff_user: object) -> None:
    _create_provider(api)
    api.post("/api/api-keys/", {"provider": "acme", "secret": SECRET}, format="json")
    api.patch("/api/providers/acme/", {"timeout": 30}, format="json")
    api.delete(f"/api/api-keys/{ApiKey.objects.get().pk}/")
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.object_type, e.source, e.actor_name) for e in entries] == [
        ("create", "providers.provider", "api", "ops"),
        ("create", "providers.apikey", "api", "ops"),
        ("update", "providers.provider", "api", "ops"),
        ("delete", "providers.apikey", "api", "ops"),
    ]
    update = entries[2]
    assert update.before is not None
    assert update.after is not None
    assert (update.before["timeout"], update.after["timeout"]) == (300.0, 30.0)
    assert entries[3].after is None
    assert entries[3].before is not None
    assert entries[3].before["fingerprint"] == fingerprint_secret(SECRET)
    assert entries[3].object_id == str(entries[1].object_id)


def test_a_refused_change_is_not_audited(api: RecordingClient) -> None:
    Provider.objects.create(
        name="openai", base_url="https://x/v1", source=Source.ENV, field_sources={"base_url": "env"}
    )
    api.patch("/api/providers/openai/", {"base_url": "https://y/v1"}, format="json")
    assert not AuditEntry.objects.exists()


def test_the_audit_log_is_readable_and_filterable(api: RecordingClient) -> None:
    _create_provider(api)
    api.post("/api/api-keys/", {"provider": "acme", "secret": SECRET}, format="json")
    entries = api.get("/api/audit/").json()["results"]
    assert [(e["action"], e["object_type"]) for e in entries] == [
        ("create", "providers.apikey"),
        ("create", "providers.provider"),
    ]
    assert entries[0]["after"]["ciphertext"] == "••••••"
    only_keys = api.get("/api/audit/?object_type=providers.apikey&source=api&actor=ops").json()
    assert only_keys["count"] == 1
    assert api.get("/api/audit/?action=delete").json()["count"] == 0
    assert api.post("/api/audit/", {}).status_code == 405
    api.assert_never_sent(SECRET)
