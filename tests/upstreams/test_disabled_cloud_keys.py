"""Disabled Bedrock and Vertex keys never hand the provider over to the host's own cloud
identity (issue 10 item 5), and a Vertex token the upstream rejects is refreshed once
(item 6). The host's AWS keys and Google ADC are set in the environment of every test
here: a request that reaches the mock signed or authorized with them is the defect."""

import json
from pathlib import Path

import anthropic
import pytest
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings

from providers.models import ApiKey
from providers.services import api_key_update
from routing import failover
from tests.cloud_mocks import CloudMock, Reply
from tests.upstreams.test_bedrock import ACCESS_KEY, HELLO, SECRET_KEY, bedrock_provider
from tests.upstreams.test_vertex import MODEL as VERTEX_MODEL
from tests.upstreams.test_vertex import bearer, new_key, vertex_provider

pytestmark = pytest.mark.django_db(transaction=True)

BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
HOST_ACCESS_KEY = "AKIAHOSTENVIRONMENT1"
EXPIRED = json.dumps(
    {"__type": "ExpiredTokenException", "message": "The security token included in the request is expired"}
).encode()


@pytest.fixture(autouse=True)
def _host_identity(
    cloud: CloudMock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings
) -> None:
    """The host has an AWS identity and Google ADC; configuration changes apply at once."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", HOST_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hostsecrethostsecrethostsecret")
    adc = tmp_path / "adc.json"
    adc.write_text(new_key(cloud, "host@other-project.iam.gserviceaccount.com").replace("demo-project", ""))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    settings.VANDAMME_SNAPSHOT_TTL = 0
    settings.VANDAMME_KEY_COOLDOWN_SECONDS = 0


async def _disable_all_keys() -> None:
    """What PATCH /api/api-keys/<id>/ {"enabled": false} does."""
    async for key in ApiKey.objects.all():
        await sync_to_async(api_key_update)(api_key=key, enabled=False)


def _message(error: anthropic.APIStatusError) -> str:
    body = error.body
    assert isinstance(body, dict)
    return str(body["error"]["message"])


def _signed_by_host(cloud: CloudMock) -> list[str]:
    return [r.path for r in cloud.requests if HOST_ACCESS_KEY in r.headers.get("authorization", "")]


async def test_an_operator_disabled_bedrock_key_stops_the_provider_not_signs_as_the_host(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    await client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
    await _disable_all_keys()
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
    assert caught.value.status_code == 503
    assert "all 1 API keys of provider 'bedrock' are disabled" in _message(caught.value)
    assert _signed_by_host(cloud) == []
    assert len(cloud.requests) == 1  # only the request before the key was disabled


async def test_a_bedrock_key_disabled_after_expired_tokens_stops_the_provider(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    cloud.queue(*[Reply(403, body=EXPIRED) for _ in range(failover.KEY_DISABLE_AFTER)])
    for _ in range(failover.KEY_DISABLE_AFTER):
        with pytest.raises(anthropic.PermissionDeniedError):
            await client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
    await failover.key_state_writes_done()
    key = await ApiKey.objects.aget()
    assert (key.enabled, key.auto_disabled) == (False, True)
    for _ in range(3):
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
        assert caught.value.status_code == 503
    assert "are disabled" in caught.value.message
    assert _signed_by_host(cloud) == []
    assert len(cloud.requests) == failover.KEY_DISABLE_AFTER


async def test_a_disabled_vertex_key_neither_uses_adc_nor_an_empty_project(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    await _disable_all_keys()
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    assert caught.value.status_code == 503
    assert "all 1 API keys of provider 'vertex' are disabled" in _message(caught.value)
    assert not [path for path in cloud.iter_paths() if "/projects//" in path]
    assert len(cloud.requests) == 1
    assert cloud.state.token_requests == 1  # no token fetched for the host's ADC


async def test_ambient_credentials_on_still_stop_when_the_pools_keys_are_disabled(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    """The switch covers a pool with no key at all, never a pool an operator emptied."""
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}", ambient_credentials=True)
    await _disable_all_keys()
    with pytest.raises(anthropic.APIStatusError, match="are disabled"):
        await client.messages.create(model=BEDROCK_MODEL, max_tokens=5, messages=HELLO)
    assert cloud.requests == []


async def test_a_keyless_vertex_provider_without_a_project_is_refused_before_sending(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, ambient_credentials=True)
    with pytest.raises(anthropic.APIStatusError, match="no Google Cloud project") as caught:
        await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    assert caught.value.status_code == 503
    assert cloud.requests == []


async def test_a_vertex_401_refreshes_the_token_once_and_keeps_the_key(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    revoked = {
        "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }
    }
    cloud.queue(Reply(401, body=json.dumps(revoked).encode()))
    message = await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    assert message.content[0].type == "text"
    assert bearer(cloud) == ["Bearer ya29.token-1", "Bearer ya29.token-1", "Bearer ya29.token-2"]
    await failover.key_state_writes_done()
    key = await ApiKey.objects.aget()
    assert (key.enabled, key.consecutive_failures, key.last_failure_status) == (True, 0, None)


async def test_a_vertex_401_after_a_fresh_token_counts_against_the_key(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    revoked = json.dumps({"error": {"code": 401, "status": "UNAUTHENTICATED"}}).encode()
    cloud.queue(Reply(401, body=revoked), Reply(401, body=revoked))
    with pytest.raises(anthropic.AuthenticationError):
        await client.messages.create(model=VERTEX_MODEL, max_tokens=5, messages=HELLO)
    assert len(cloud.requests) == 2  # the rejected token, then one fresh token: no more
    await failover.key_state_writes_done()
    key = await ApiKey.objects.aget()
    assert (key.consecutive_failures, key.last_failure_status) == (1, 401)
