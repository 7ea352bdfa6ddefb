"""The Bedrock adapter: URLs, bodies, credentials and the event-stream → SSE transcoder,
fed real event-stream frames (CRC-checked framing, parsed by botocore)."""

import base64
import json

import pytest

from routing.adapters import bedrock
from routing.sse import SSEDecoder
from routing.table import ProviderConfig
from tests.cloud_mocks import anthropic_events, chunk_frame, event_frame, exception_frame

MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def provider(base_url: str = "https://bedrock-runtime.us-east-1.amazonaws.com") -> ProviderConfig:
    return ProviderConfig(
        name="bedrock",
        api_format="bedrock",
        base_url=base_url,
        api_version="",
        timeout=30,
        max_retries=0,
        custom_headers=(),
        tool_name_sanitization=False,
        passthrough=False,
        models=(),
        keys=(),
        region="us-east-1",
    )


def decoded(sse: bytes) -> list[tuple[str, dict[str, object]]]:
    decoder = SSEDecoder()
    return [(event.event, json.loads(event.data)) for event in decoder.feed(sse)]


def test_urls_keep_the_model_ids_colon_and_encode_the_rest() -> None:
    assert bedrock.invoke_url(provider(), MODEL, stream=False) == (
        f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{MODEL}/invoke"
    )
    assert bedrock.invoke_url(provider(), "us." + MODEL, stream=True).endswith(
        f"/model/us.{MODEL}/invoke-with-response-stream"
    )
    arn = "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude"
    assert "/model/arn:aws:bedrock:us-east-1:123:inference-profile%2Fus.anthropic.claude/count-tokens" in (
        bedrock.count_tokens_url(provider(), arn)
    )


def test_invoke_body_moves_model_and_stream_out_and_betas_in() -> None:
    body = {"model": "x", "stream": True, "max_tokens": 10, "messages": [], "anthropic_version": "2023-06-01"}
    out = bedrock.invoke_body(body, beta_header="interleaved-thinking-2025-05-14, context-1m-2025-08-07")
    assert out == {
        "max_tokens": 10,
        "messages": [],
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
    }
    assert "anthropic_beta" not in bedrock.invoke_body({"messages": []}, beta_header=None)


def test_count_body_is_the_invoke_body_base64_with_max_tokens() -> None:
    out = bedrock.count_tokens_body({"messages": [{"role": "user", "content": "hi"}]}, beta_header=None)
    inner = json.loads(base64.b64decode(out["input"]["invokeModel"]["body"]))
    assert inner == {
        "messages": [{"role": "user", "content": "hi"}],
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1,
    }
    assert bedrock.anthropic_count({"inputTokens": 42}) == {"input_tokens": 42}
    assert bedrock.anthropic_count({"input_tokens": 42}) is None


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ("AKIDEXAMPLE", None, None)),
        ("AKID:SECRET:FwoGZXIvYXdzEJr//token==", ("AKID", "FwoGZXIvYXdzEJr//token==", None)),
        ("ABSKQmVkcm9ja0FQSUtleS1hYmM", ("", None, "ABSKQmVkcm9ja0FQSUtleS1hYmM")),
    ],
)
def test_credentials_parse(secret: str, expected: tuple[str, str | None, str | None]) -> None:
    credential = bedrock.parse_credential(secret)
    assert (credential.access_key_id, credential.session_token, credential.api_key) == expected
    assert secret.split(":")[-1] not in repr(credential)


@pytest.mark.parametrize("secret", ["", ":secret", "AKID:", "a:b:c:d"])
def test_malformed_credentials_are_refused_without_echoing_them(secret: str) -> None:
    with pytest.raises(ValueError, match=r"credential|ACCESS_KEY_ID") as caught:
        bedrock.parse_credential(secret)
    assert "secret" not in str(caught.value)


def test_frames_become_anthropic_sse_whatever_the_network_split() -> None:
    events = anthropic_events("claude")
    wire = b"".join(chunk_frame(event) for event in events)
    for size in (1, 7, 64, len(wire)):
        transcoder = bedrock.EventStreamTranscoder()
        sse = b"".join(transcoder.feed(wire[i : i + size]) for i in range(0, len(wire), size))
        out = decoded(sse)
        assert [name for name, _ in out] == [event["type"] for event in events]
        assert [payload for _, payload in out] == events
        assert not transcoder.ended


def test_an_exception_frame_ends_the_stream_with_an_anthropic_error() -> None:
    wire = chunk_frame(anthropic_events("claude")[0]) + exception_frame(
        "throttlingException", "Too many tokens"
    )
    transcoder = bedrock.EventStreamTranscoder()
    out = decoded(transcoder.feed(wire + chunk_frame({"type": "message_stop"})))
    assert out[-1] == (
        "error",
        {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Bedrock throttlingException: Too many tokens"},
        },
    )
    assert len(out) == 2
    assert transcoder.ended
    assert transcoder.feed(chunk_frame({"type": "message_stop"})) == b""


def test_corrupt_frames_become_an_error_event() -> None:
    frame = bytearray(chunk_frame({"type": "ping"}))
    frame[-1] ^= 0xFF  # break the message CRC
    transcoder = bedrock.EventStreamTranscoder()
    out = decoded(transcoder.feed(bytes(frame)))
    assert out[0][0] == "error"
    assert "ChecksumMismatch" in str(out[0][1])


def test_non_chunk_events_and_foreign_payloads_are_skipped() -> None:
    transcoder = bedrock.EventStreamTranscoder()
    other = event_frame({":message-type": "event", ":event-type": "initial-response"}, b"{}")
    not_anthropic = event_frame(
        {":message-type": "event", ":event-type": "chunk"},
        json.dumps({"bytes": base64.b64encode(b'{"no":"type"}').decode()}).encode(),
    )
    assert transcoder.feed(other + not_anthropic) == b""
