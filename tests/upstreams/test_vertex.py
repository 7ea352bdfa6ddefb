"""Google Vertex AI behind the Anthropic door, against a Vertex mock and its OAuth token
endpoint on 127.0.0.1 (the service-account key's ``token_uri`` points there)."""

import asyncio
import datetime
import json
from pathlib import Path
from typing import Any
from unittest import mock

import anthropic
import pytest
from google.auth import _helpers as google_time

from providers.models import Provider
from tests.cloud_mocks import REPLY_TEXT, CloudMock, service_account_key
from tests.upstreams.conftest import provider_row

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "claude-sonnet-4-5@20250929"
HELLO = [{"role": "user", "content": "hi"}]
ROOT = "/v1/projects/demo-project/locations/us-east5/publishers/anthropic/models"


def new_key(cloud: CloudMock, email: str = "gateway@demo-project.iam.gserviceaccount.com") -> str:
    info, public = service_account_key(f"{cloud.origin}/token", email=email)
    cloud.state.public_keys[email] = public
    return json.dumps(info)


async def vertex_provider(cloud: CloudMock, *keys: str, **fields: Any) -> Provider:
    # No project given: the service account's project_id is used.
    return await provider_row(
        "vertex",
        base_url=cloud.origin,
        api_format="vertex",
        keys=keys,
        region="us-east5",
        max_retries=0,
        is_default=True,
        **fields,
    )


def bearer(cloud: CloudMock) -> list[str]:
    return [request.headers["authorization"] for request in cloud.requests]


async def test_create_and_stream_with_a_cached_bearer_token(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    message = await client.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=HELLO,
        extra_headers={"anthropic-beta": "context-1m-2025-08-07"},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == REPLY_TEXT
    async with client.messages.stream(model=f"vertex:{MODEL}", max_tokens=50, messages=HELLO) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello from the cloud"
    first, second = cloud.requests
    assert first.path == f"{ROOT}/{MODEL}:rawPredict"
    assert first.json() == {"max_tokens": 50, "messages": HELLO, "anthropic_version": "vertex-2023-10-16"}
    assert first.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert second.path == f"{ROOT}/{MODEL}:streamRawPredict"
    assert second.json()["stream"] is True
    assert cloud.state.token_requests == 1  # fetched once, then cached
    assert bearer(cloud) == ["Bearer ya29.token-1", "Bearer ya29.token-1"]


async def test_the_token_is_refreshed_once_it_expires(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    later = google_time.utcnow() + datetime.timedelta(seconds=3600 - 200)  # inside the refresh margin
    with mock.patch.object(google_time, "utcnow", return_value=later):
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert cloud.state.token_requests == 2
    assert bearer(cloud) == ["Bearer ya29.token-1", "Bearer ya29.token-2", "Bearer ya29.token-2"]


async def test_concurrent_requests_share_one_token_fetch(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    await asyncio.gather(
        *(client.messages.create(model=MODEL, max_tokens=5, messages=HELLO) for _ in range(6))
    )
    assert cloud.state.token_requests == 1
    assert set(bearer(cloud)) == {"Bearer ya29.token-1"}


async def test_each_key_has_its_own_token(cloud: CloudMock, client: anthropic.AsyncAnthropic) -> None:
    await vertex_provider(
        cloud,
        new_key(cloud, "a@demo-project.iam.gserviceaccount.com"),
        new_key(cloud, "b@demo-project.iam.gserviceaccount.com"),
    )
    for _ in range(4):
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert cloud.state.token_requests == 2  # round robin over two keys, one token each
    assert len(set(bearer(cloud))) == 2


async def test_a_refused_token_grant_is_an_authentication_error(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    key = new_key(cloud)
    await vertex_provider(cloud, key)
    cloud.state.token_status = 400
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert "Google token endpoint refused" in caught.value.message
    assert "invalid_grant" in caught.value.message
    assert "PRIVATE KEY" not in caught.value.message
    assert cloud.requests == []


async def test_a_key_that_is_not_a_service_account_is_refused_clearly(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, '{"type": "service_account"}', project="demo-project")
    with pytest.raises(anthropic.AuthenticationError, match="not a usable service-account JSON"):
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)


async def test_application_default_credentials_when_the_pool_is_empty(
    cloud: CloudMock, client: anthropic.AsyncAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    adc = tmp_path / "adc.json"
    adc.write_text(new_key(cloud))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    await vertex_provider(cloud, project="demo-project", ambient_credentials=True)
    await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert bearer(cloud) == ["Bearer ya29.token-1"]


async def test_count_tokens_goes_to_the_count_tokens_model(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await vertex_provider(cloud, new_key(cloud))
    counted = await client.messages.count_tokens(model=MODEL, messages=HELLO)
    assert counted.input_tokens == 19
    [sent] = cloud.requests
    assert sent.path == f"{ROOT}/count-tokens:rawPredict"
    assert sent.json() == {"messages": HELLO, "model": MODEL, "anthropic_version": "vertex-2023-10-16"}
