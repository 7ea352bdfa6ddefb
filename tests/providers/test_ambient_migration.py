"""Migration 0005 keeps existing keyless Bedrock/Vertex setups working: a cloud provider
with no key at all gets ``ambient_credentials = True`` (it was signing with the host's
identity); one with keys, even disabled ones, and other formats keep the new default."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("providers", "0004_regions_projects_keyless")]
AFTER = [("providers", "0005_ambient_credentials_auto_disabled")]


def test_keyless_cloud_providers_keep_the_host_identity_after_the_migration() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    provider, api_key = old.get_model("providers", "Provider"), old.get_model("providers", "ApiKey")
    for name, api_format in [
        ("aws", "bedrock"),
        ("gcp", "vertex"),
        ("aws-keyed", "bedrock"),
        ("oai", "openai"),
    ]:
        provider.objects.create(name=name, api_format=api_format, base_url="https://example.test")
    keyed = provider.objects.get(name="aws-keyed")
    api_key.objects.create(provider=keyed, ciphertext="x", fingerprint="f1", enabled=False)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("providers", "Provider")
    ambient = dict(new.objects.values_list("name", "ambient_credentials"))
    assert ambient == {"aws": True, "gcp": True, "aws-keyed": False, "oai": False}
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for other tests
