"""Custom header values are encrypted at rest: set by the environment, the migration that
seals rows stored in plaintext, Fernet key rotation, and the routing snapshot (the one
place they are opened to be sent)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.masking import MASK
from providers.headers import headers_open
from providers.loaders import build_config
from providers.models import Provider
from routing.snapshot import build_routing_table
from tests.conftest import TEST_FERNET_KEYS
from vandamme.configuration import config_apply

SUBSCRIPTION = "apim-subscription-0042"
ENV = {
    "ACME_API_KEY": "sk-acme-key-0000000000000000",
    "ACME_BASE_URL": "https://acme.example/v1",
    "ACME_CUSTOM_HEADER_OCP_APIM_SUBSCRIPTION_KEY": SUBSCRIPTION,
    "ACME_CUSTOM_HEADER_X_TITLE": "vandamme",
}
BEFORE_SEALING = [("providers", "0005_ambient_credentials_auto_disabled")]
SEALING = [("providers", "0006_custom_headers_sealed")]


def _load(env: dict[str, str]) -> list[str]:
    return config_apply(config=build_config(environ=env, toml_layers=[]), dry_run=False).changes


def _stored() -> str:
    return json.dumps(list(Provider.objects.values()), default=str)


@pytest.mark.django_db
def test_headers_from_the_environment_are_sealed_and_a_reload_writes_nothing() -> None:
    _load(ENV)
    provider = Provider.objects.get(name="acme")
    assert provider.custom_headers == {"Ocp-Apim-Subscription-Key": MASK, "X-Title": "vandamme"}
    assert SUBSCRIPTION not in _stored()
    assert not [change for change in _load(ENV) if "acme" in change]  # sealed anew only on a change
    changed = _load({**ENV, "ACME_CUSTOM_HEADER_OCP_APIM_SUBSCRIPTION_KEY": "apim-new"})
    assert "provider acme: updated custom_headers" in changed
    assert (
        headers_open(Provider.objects.get(name="acme").sealed_headers)["Ocp-Apim-Subscription-Key"]
        == "apim-new"
    )


@pytest.mark.django_db
def test_the_snapshot_sends_the_opened_values_after_a_key_rotation(settings: object) -> None:
    _load(ENV)
    before = Provider.objects.get(name="acme").sealed_headers
    settings.VANDAMME_FERNET_KEYS = [TEST_FERNET_KEYS[1], TEST_FERNET_KEYS[0]]  # type: ignore[attr-defined]
    out = StringIO()
    call_command("rotate_fernet_keys", stdout=out)
    assert "the custom headers of 1 providers" in out.getvalue()
    after = Provider.objects.get(name="acme").sealed_headers
    assert after.keys() == before.keys()
    assert not set(after.values()) & set(before.values())
    settings.VANDAMME_FERNET_KEYS = [TEST_FERNET_KEYS[1]]  # type: ignore[attr-defined]  # old key gone
    headers = dict(build_routing_table().providers["acme"].custom_headers)
    assert headers == {"Ocp-Apim-Subscription-Key": SUBSCRIPTION, "X-Title": "vandamme"}


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_headers_stored_in_plaintext() -> None:
    executor = MigrationExecutor(connection)
    try:
        _seal_and_unseal(executor)
    finally:  # later migrations add columns the current model reads: never leave it half-way
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


def _seal_and_unseal(executor: MigrationExecutor) -> None:
    executor.migrate(BEFORE_SEALING)
    old_provider = executor.loader.project_state(BEFORE_SEALING).apps.get_model("providers", "Provider")
    headers = {"Authorization": "Bearer legacy-0042", "X-Auth": "xauth-0042", "X-Title": "vandamme"}
    old_provider.objects.create(name="legacy", base_url="https://legacy.example/v1", custom_headers=headers)
    executor = MigrationExecutor(connection)
    executor.migrate(SEALING)
    sealed_provider = executor.loader.project_state(SEALING).apps.get_model("providers", "Provider")
    provider = sealed_provider.objects.get(name="legacy")
    assert provider.custom_headers == {"Authorization": MASK, "X-Auth": MASK, "X-Title": "vandamme"}
    stored = json.dumps(list(sealed_provider.objects.values()), default=str)
    assert "legacy-0042" not in stored
    assert "xauth-0042" not in stored
    assert headers_open(provider.sealed_headers) == headers
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_SEALING)  # and back: plaintext again
    old_provider = executor.loader.project_state(BEFORE_SEALING).apps.get_model("providers", "Provider")
    assert old_provider.objects.get(name="legacy").custom_headers == headers
