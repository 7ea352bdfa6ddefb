"""Each provider behind the Anthropic door: the official anthropic SDK → the ASGI app in
process → a mock of the provider's real wire format on 127.0.0.1."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from providers.models import Provider
from routing.authorizers import reset_credential_caches
from tests.cloud_mocks import CloudMock
from tests.gateway.conftest import client, make_provider  # noqa: F401  (client: the SDK fixture)

AMBIENT_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_BEARER_TOKEN_BEDROCK",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "CLOUDSDK_CONFIG",
)


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Credential chains see only what a test gives them, and never leave 127.0.0.1
    (no EC2/GCE metadata lookups)."""
    for variable in AMBIENT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    reset_credential_caches()
    yield
    reset_credential_caches()


@pytest.fixture
def cloud() -> Iterator[CloudMock]:
    with CloudMock() as mock:
        yield mock


async def provider_row(name: str, **fields: object) -> Provider:
    """A provider row (and its keys) created from an async test."""
    return await sync_to_async(make_provider)(name, **fields)
