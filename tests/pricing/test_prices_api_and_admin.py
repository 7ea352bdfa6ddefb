"""Price overrides over REST (``/api/prices/``) and in the admin: CRUD, a clear error
naming the field for a negative or non-numeric price or a currency other than USD,
read-only rows a load manages, and every save bumping the configuration generation."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from pricing.models import PriceOverride
from providers.generation import config_generation_get
from providers.models import Source
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit: the generation bump runs


def test_crud_bumps_the_generation_and_is_audited(api: RecordingClient) -> None:
    start = config_generation_get()
    body = {"provider": "openai", "model": "gpt-4o", "input": "2.5", "output": 10, "cache_read": "1.25"}
    created = api.post("/api/prices/", body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["input"], data["output"], data["cache_write"], data["currency"], data["source"]) == (
        "2.500000",
        "10.000000",
        None,
        "USD",
        "admin",
    )
    assert config_generation_get() > start
    bumped = config_generation_get()

    url = f"/api/prices/{data['id']}/"
    assert api.patch(url, {"output": "12"}, format="json").status_code == 200
    assert PriceOverride.objects.get().output == Decimal(12)
    assert config_generation_get() > bumped
    assert api.get("/api/prices/?provider=openai").json()["results"][0]["model"] == "gpt-4o"
    assert api.get("/api/prices/?provider=").json()["results"] == []
    assert api.delete(url).status_code == 204
    assert not PriceOverride.objects.exists()
    assert AuditEntry.objects.filter(object_type="pricing.priceoverride").count() == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input", "-1", "A price cannot be negative."),
        ("output", "ten", "A valid number is required."),
        ("cache_write", "-0.01", "A price cannot be negative."),
        ("currency", "EUR", "Only USD prices are supported (got 'EUR')."),
    ],
)
def test_bad_values_are_400_naming_the_field(
    api: RecordingClient, field: str, value: str, message: str
) -> None:
    body = {"model": "gpt-4o", "input": "1", "output": "2", field: value}
    response = api.post("/api/prices/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not PriceOverride.objects.exists()


def test_a_duplicate_is_refused(api: RecordingClient) -> None:
    body = {"provider": "openai", "model": "gpt-4o", "input": "1", "output": "2"}
    assert api.post("/api/prices/", body, format="json").status_code == 201
    duplicate = api.post("/api/prices/", {**body, "model": "GPT-4o"}, format="json")
    assert duplicate.status_code == 400
    assert "already has a price for this model" in duplicate.content.decode()


def test_rows_a_load_manages_are_409(api: RecordingClient) -> None:
    row = PriceOverride.objects.create(model="gpt-4o", input=1, output=2, source=Source.FILE)
    changed = api.patch(f"/api/prices/{row.pk}/", {"input": "3"}, format="json")
    assert changed.status_code == 409
    assert "TOML file" in changed.json()["detail"]
    assert api.delete(f"/api/prices/{row.pk}/").status_code == 409
    assert PriceOverride.objects.get().input == 1


def test_non_staff_cannot_read_prices(non_staff_api: object) -> None:
    assert non_staff_api.get("/api/prices/").status_code == 403  # type: ignore[attr-defined]


def _form(**fields: str) -> dict[str, str]:
    return {
        "provider": "",
        "model": "llama3.1:8b",
        "input": "0.1",
        "output": "0.2",
        "cache_read": "",
        "cache_write": "",
        "currency": "USD",
        **fields,
    }


def test_admin_adds_a_price(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:pricing_priceoverride_add"), _form())
    assert response.status_code == 302
    row = PriceOverride.objects.get()
    assert (row.provider, row.input, row.cache_read, row.source) == ("", Decimal("0.1"), None, Source.ADMIN)
    changelist = admin_client.get(reverse("admin:pricing_priceoverride_changelist")).content.decode()
    assert "any provider" in changelist


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input", "-1", "A price cannot be negative."),
        ("output", "ten", "Enter a number."),
        ("currency", "EUR", "Only USD prices are supported"),
    ],
)
def test_admin_shows_the_error_on_the_field(
    admin_client: Client, field: str, value: str, message: str
) -> None:
    response = admin_client.post(reverse("admin:pricing_priceoverride_add"), _form(**{field: value}))
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not PriceOverride.objects.exists()


def test_admin_shows_managed_rows_read_only(admin_client: Client) -> None:
    row = PriceOverride.objects.create(model="gpt-4o", input=1, output=2, source=Source.ENV)
    page = admin_client.get(reverse("admin:pricing_priceoverride_change", args=[row.pk])).content.decode()
    assert 'name="input"' not in page
    delete = admin_client.get(reverse("admin:pricing_priceoverride_delete", args=[row.pk]))
    assert delete.status_code == 403
