"""AWS Bedrock behind the Anthropic door, against a Bedrock Runtime mock on 127.0.0.1."""

import base64
import datetime
import json
import re
from unittest import mock

import anthropic
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from providers.models import Provider
from routing.upstream import close_upstream_clients
from tests.cloud_mocks import (
    EVENT_STREAM,
    REPLY_TEXT,
    CloudMock,
    Recorded,
    Reply,
    anthropic_events,
    chunk_frame,
    exception_frame,
)
from tests.upstreams.conftest import provider_row

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"
ACCESS_KEY, SECRET_KEY, TOKEN = (
    "AKIDEXAMPLE1",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "FwoGZXIvYXdzEXAMPLE//==",
)
HELLO = [{"role": "user", "content": "hi"}]


async def bedrock_provider(cloud: CloudMock, *keys: str, **fields: object) -> Provider:
    return await provider_row(
        "bedrock",
        base_url=cloud.origin,
        api_format="bedrock",
        keys=keys,
        region="us-west-2",
        max_retries=0,
        is_default=True,
        **fields,
    )


def resigned(recorded: Recorded, origin: str, credentials: Credentials, region: str) -> str:
    """The Authorization botocore's signer gives the request as received: same method, URL,
    body, the headers the gateway said it signed, its timestamp and the same credentials."""
    authorization = recorded.headers["authorization"]
    match = re.search(r"SignedHeaders=([^,]+)", authorization)
    assert match is not None
    signed = {name: recorded.headers[name] for name in match.group(1).split(";")}
    # botocore signs with a naive UTC time (get_current_datetime strips the zone).
    stamp = datetime.datetime.strptime(recorded.headers["x-amz-date"] + "+0000", "%Y%m%dT%H%M%SZ%z")
    stamp = stamp.replace(tzinfo=None)
    request = AWSRequest(
        method=recorded.method, url=origin + recorded.path, headers=signed, data=recorded.body
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=stamp):
        SigV4Auth(credentials, "bedrock", region).add_auth(request)
    return str(request.headers["Authorization"])


async def test_create_is_signed_with_sigv4_over_exactly_what_was_sent(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}:{TOKEN}")
    message = await client.messages.create(
        model=f"bedrock:{MODEL}",
        max_tokens=50,
        messages=HELLO,
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == REPLY_TEXT
    [sent] = cloud.requests
    assert sent.path == f"/model/{MODEL}/invoke"
    assert sent.json() == {
        "max_tokens": 50,
        "messages": HELLO,
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["interleaved-thinking-2025-05-14"],
    }
    assert "anthropic-beta" not in sent.headers
    assert sent.headers["x-amz-security-token"] == TOKEN
    assert sent.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
    assert "/us-west-2/bedrock/aws4_request" in sent.headers["authorization"]
    assert SECRET_KEY not in json.dumps(sent.headers)
    expected = resigned(sent, cloud.origin, Credentials(ACCESS_KEY, SECRET_KEY, TOKEN), "us-west-2")
    assert sent.headers["authorization"] == expected


async def test_stream_decodes_event_stream_frames_into_anthropic_events(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    async with client.messages.stream(model=f"bedrock:{MODEL}", max_tokens=50, messages=HELLO) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello from the cloud"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    [sent] = cloud.requests
    assert sent.path == f"/model/{MODEL}/invoke-with-response-stream"
    assert "stream" not in sent.json()
    assert "x-amz-security-token" not in sent.headers
    assert sent.headers["authorization"] == resigned(
        sent, cloud.origin, Credentials(ACCESS_KEY, SECRET_KEY), "us-west-2"
    )


async def test_an_exception_frame_mid_stream_reaches_the_client_as_an_error_event(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    frames = [chunk_frame(event) for event in anthropic_events(MODEL)[:3]]
    frames.append(exception_frame("modelStreamErrorException", "The model stopped"))
    cloud.queue(Reply(content_type=EVENT_STREAM, chunks=frames))
    with pytest.raises(anthropic.APIStatusError, match="modelStreamErrorException: The model stopped"):
        async with client.messages.stream(model=f"bedrock:{MODEL}", max_tokens=50, messages=HELLO) as stream:
            await stream.get_final_message()


async def test_empty_pool_signs_with_the_aws_environment(
    cloud: CloudMock, client: anthropic.AsyncAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecretenvsecret")
    await bedrock_provider(cloud, ambient_credentials=True)
    await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    [sent] = cloud.requests
    assert sent.headers["authorization"] == resigned(
        sent, cloud.origin, Credentials("AKIDFROMENV", "envsecretenvsecret"), "us-west-2"
    )


async def test_empty_pool_without_aws_credentials_is_a_clear_error(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, ambient_credentials=True)
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert caught.value.status_code == 503
    assert "no AWS credentials" in caught.value.message
    assert cloud.requests == []


async def test_a_bedrock_api_key_is_sent_as_a_bearer_token(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl")
    await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert cloud.requests[0].headers["authorization"] == "Bearer ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"


async def test_rejected_keys_rotate_and_errors_come_back_in_anthropic_format(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, "AKIDBAD1:badsecretbadsecret", f"{ACCESS_KEY}:{SECRET_KEY}")
    denied = json.dumps({"message": "The security token included in the request is invalid."}).encode()
    cloud.queue(Reply(403, body=denied))
    message = await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert message.content[0].type == "text"
    assert [r.headers["authorization"].split("/")[0] for r in cloud.requests] == [
        "AWS4-HMAC-SHA256 Credential=AKIDBAD1",
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}",
    ]
    cloud.queue(Reply(400, body=b'{"message": "messages: field required"}'))
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "messages: field required" in caught.value.message


async def test_malformed_pool_entries_are_skipped_like_rejected_keys(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, "AKIDONLY:", f"{ACCESS_KEY}:{SECRET_KEY}")
    await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
    assert len(cloud.requests) == 1


async def test_count_tokens_uses_bedrocks_count_endpoint(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    counted = await client.messages.count_tokens(model=MODEL, messages=HELLO)
    assert counted.input_tokens == 17
    [sent] = cloud.requests
    assert sent.path == f"/model/{MODEL}/count-tokens"
    inner = json.loads(base64.b64decode(sent.json()["input"]["invokeModel"]["body"]))
    assert inner == {"messages": HELLO, "anthropic_version": "bedrock-2023-05-31", "max_tokens": 1}


async def test_count_tokens_falls_back_to_the_estimate_where_bedrock_cannot_count(
    cloud: CloudMock, client: anthropic.AsyncAnthropic
) -> None:
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}")
    cloud.queue(Reply(400, body=b'{"message": "The provided model doesn\'t support counting tokens."}'))
    counted = await client.messages.count_tokens(model="us." + MODEL, messages=HELLO)
    assert 0 < counted.input_tokens < 17


async def test_signature_and_stream_hold_on_the_production_transport(
    cloud: CloudMock, client: anthropic.AsyncAnthropic, settings: object
) -> None:
    """aiohttp's connection pool (the default transport) sends what was signed, unchanged."""
    settings.VANDAMME_UPSTREAM_TRANSPORT = "aiohttp"  # type: ignore[attr-defined]
    await bedrock_provider(cloud, f"{ACCESS_KEY}:{SECRET_KEY}:{TOKEN}")
    try:
        await client.messages.create(model=MODEL, max_tokens=5, messages=HELLO)
        async with client.messages.stream(model=MODEL, max_tokens=5, messages=HELLO) as stream:
            final = await stream.get_final_message()
    finally:
        await close_upstream_clients()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello from the cloud"
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, TOKEN)
    for sent in cloud.requests:
        assert sent.headers["authorization"] == resigned(sent, cloud.origin, credentials, "us-west-2")
