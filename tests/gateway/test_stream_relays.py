"""The stream relays under upstream faults, in process (ASGI app, respx upstream, the
official SDKs): keys in upstream error events are scrubbed on every path, a bad byte
or a cut ends the stream with an error event the SDK raises and is accounted as failed,
and the usage-only chunk the gateway asked for never reaches a client that did not,
however the upstream's frames are split."""

import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
import respx

from routing.usage import UsageEvent
from tests.gateway.chat_helpers import anthropic_sse, anthropic_text_stream, openai_sse
from tests.gateway.conftest import ANTHROPIC_BASE, ANTHROPIC_KEY, OPENAI_BASE, OPENAI_KEYS
from tests.gateway.test_stream_edges import Chunks
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

HI = [{"role": "user", "content": "hi"}]
ECHOED_KEY = "sk-proj-echoedUpstreamKey0123456789abcdefXYZ"


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


USAGE_CHUNK = {
    "id": "c1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "gpt-4o",
    "choices": [],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}
FRAMES = [
    openai_sse(chunk({"role": "assistant", "content": ""})),
    openai_sse(chunk({"content": "Hel"})),
    openai_sse(chunk({"content": "lo"})),
    openai_sse(chunk({}, "stop")),
    openai_sse(USAGE_CHUNK),
    openai_sse("[DONE]"),
]


def _in_three(frame: bytes, first: int, second: int) -> list[bytes]:
    return [frame[:first], frame[first:second], frame[second:]]


def _split_every_frame(offset: int) -> list[bytes]:
    """Every frame in three pieces, cut ``offset`` bytes in and ``offset`` bytes before
    its end (so the cuts fall on the ``data:`` prefix, the JSON and the blank line)."""
    pieces: list[bytes] = []
    for frame in FRAMES:
        pieces += [p for p in _in_three(frame, offset, len(frame) - offset) if p]
    return pieces


def _upstream_stream(route: respx.Route, *pieces: bytes, then_break: bool = False) -> None:
    route.mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(*pieces, then_break=then_break)
        )
    )


@pytest.mark.parametrize("offset", [1, 2, 5, 6, 7, 40])
@respx.mock(assert_all_mocked=False)
async def test_the_usage_only_chunk_never_reaches_a_client_that_did_not_ask_however_frames_split(
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    recorded_usage: list[UsageEvent],
    offset: int,
) -> None:
    _upstream_stream(respx_mock.post(f"{OPENAI_BASE}/chat/completions"), *_split_every_frame(offset))
    stream = await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])  # IndexError on a leak
    assert text == "Hello"
    [event] = recorded_usage
    assert (event.status, event.input_tokens, event.output_tokens) == (200, 9, 2)


@pytest.mark.parametrize("door", ["openai", "anthropic"])
@respx.mock(assert_all_mocked=False)
async def test_an_upstream_error_event_reaches_the_client_without_the_key_on_the_pass_through_relays(
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    client: anthropic.AsyncAnthropic,
    recorded_usage: list[UsageEvent],
    door: str,
) -> None:
    message = f"Incorrect API key provided: {ECHOED_KEY} and {OPENAI_KEYS[0]} / {ANTHROPIC_KEY}"
    if door == "openai":
        error = {"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}
        body = FRAMES[0] + FRAMES[1] + openai_sse(error)
        _upstream_stream(respx_mock.post(f"{OPENAI_BASE}/chat/completions"), body)
        stream = await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
        with pytest.raises(openai.APIError) as raised:
            [c async for c in stream]
        seen = json.dumps(raised.value.body)
    else:
        error_event = (
            "error",
            {"type": "error", "error": {"type": "authentication_error", "message": message}},
        )
        body = anthropic_text_stream(["Hel"]).split(b"event: content_block_stop")[0] + anthropic_sse(
            error_event
        )
        _upstream_stream(respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages"), body)
        with pytest.raises(anthropic.APIStatusError) as raised_anthropic:
            async with client.messages.stream(model="mockant:claude-x", max_tokens=5, messages=HI) as s:
                [t async for t in s.text_stream]
        seen = str(raised_anthropic.value)
    assert "Incorrect API key provided: [redacted]" in seen
    for secret in (ECHOED_KEY, OPENAI_KEYS[0], ANTHROPIC_KEY):
        assert secret not in seen
    # An Anthropic error event is recorded as the status its type stands for (as a
    # throttle is a 429); an OpenAI-format one carries no such type: a broken stream, 502.
    assert [e.status for e in recorded_usage] == [401 if door == "anthropic" else 502]


def _bad_byte_frames() -> Iterator[bytes]:
    yield FRAMES[0]
    yield FRAMES[1].replace(b"Hel", b"H\xffl")  # one invalid byte, not at a chunk's end
    yield from FRAMES[2:]


@respx.mock(assert_all_mocked=False)
async def test_an_invalid_utf8_byte_on_the_openai_door_becomes_a_replacement_character(
    respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI, recorded_usage: list[UsageEvent]
) -> None:
    _upstream_stream(respx_mock.post(f"{OPENAI_BASE}/chat/completions"), *_bad_byte_frames())
    stream = await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == "H\ufffdllo"
    assert [(e.status, e.input_tokens) for e in recorded_usage] == [(200, 9)]


@pytest.mark.parametrize(
    ("pieces", "then_break"),
    [
        ((FRAMES[0] + FRAMES[1][:9],), True),  # reset mid-event
        ((FRAMES[0] + FRAMES[1][:9],), False),  # the body ends mid-event
        ((FRAMES[0] + FRAMES[1],), False),  # the body ends between events, unfinished
        ((FRAMES[0], FRAMES[1]), True),  # reset between events
    ],
    ids=["reset-mid-event", "short-mid-event", "short-whole-events", "reset-between-events"],
)
@respx.mock(assert_all_mocked=False)
async def test_a_cut_openai_pass_through_stream_ends_with_an_error_the_sdk_raises_after_whole_events(
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    recorded_usage: list[UsageEvent],
    pieces: tuple[bytes, ...],
    then_break: bool,
) -> None:
    _upstream_stream(respx_mock.post(f"{OPENAI_BASE}/chat/completions"), *pieces, then_break=then_break)
    stream = await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    seen: list[str] = []

    async def read() -> None:
        async for c in stream:
            seen.append(c.choices[0].delta.content or "")

    with pytest.raises(openai.APIError, match="upstream stream"):
        await read()
    assert "".join(seen) in ("", "Hel")
    assert [e.status for e in recorded_usage] == [502]


@respx.mock(assert_all_mocked=False)
async def test_a_cut_stream_reaches_the_client_as_whole_events_and_one_well_formed_error(
    respx_mock: respx.MockRouter,
) -> None:
    _upstream_stream(
        respx_mock.post(f"{OPENAI_BASE}/chat/completions"), FRAMES[0] + FRAMES[1][:30], then_break=True
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post(
            "/v1/chat/completions", json={"model": "gpt-4o", "messages": HI, "stream": True}
        )
    assert response.content.startswith(FRAMES[0] + b"data: {")
    events = [block for block in response.content.split(b"\n\n") if block]
    assert [json.loads(e.removeprefix(b"data: ")) for e in events][-1]["error"]["type"] == "server_error"
    assert len(events) == 2


@respx.mock(assert_all_mocked=False)
async def test_a_cut_stream_is_logged_as_failed_on_its_access_line(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    _upstream_stream(respx_mock.post(f"{OPENAI_BASE}/chat/completions"), FRAMES[0] + FRAMES[1][:9])
    transport = httpx.ASGITransport(app=application)
    with caplog.at_level("INFO", logger="vandamme.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            await http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": HI, "stream": True})
    [line] = [r for r in caplog.records if r.name == "vandamme.access"]
    assert line.fields["stream_status"] == 502  # type: ignore[attr-defined]
    assert "ended before the answer was complete" in line.fields["error"]  # type: ignore[attr-defined]
    assert "stream_status=502" in line.getMessage()
