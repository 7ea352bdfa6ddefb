"""Anthropic event stream → OpenAI chunk stream: fixed cases and generated streams.

The generated streams are checked twice over: the chunk sequence follows OpenAI's
grammar, and the official openai SDK's accumulator, fed the chunks, rebuilds the very
completion the non-streamed translation gives for the message the official anthropic
SDK's accumulator builds from the same events.
"""

import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from routing.relays.chat_completions import anthropic_to_openai_chunks
from routing.sse import SSEDecoder, encode_event
from routing.translation import (
    AnthropicToOpenAIStream,
    ToolNameMap,
    anthropic_to_openai_response,
    build_tool_name_map,
)

IDENTITY = ToolNameMap()
CREATED = 1_700_000_000
Event = tuple[str, dict[str, Any]]
S = TypeVar("S", str, bytes)


def pieces(whole: S, cuts: Sequence[int]) -> list[S]:
    bounds = [0, *sorted(cuts), len(whole)]
    return [whole[a:b] for a, b in itertools.pairwise(bounds)]


def translator(include_usage: bool = True, tool_names: ToolNameMap = IDENTITY) -> AnthropicToOpenAIStream:
    return AnthropicToOpenAIStream(
        client_model="my-model", tool_names=tool_names, created=CREATED, include_usage=include_usage
    )


def run(events: list[Event], **kwargs: Any) -> list[dict[str, Any]]:
    stream = translator(**kwargs)
    return [chunk for name, data in events for chunk in stream.feed(name, data)]


def message_start(input_tokens: int = 10, cached: int = 0) -> Event:
    usage = {"input_tokens": input_tokens, "output_tokens": 1, "cache_read_input_tokens": cached}
    message: dict[str, Any] = {
        "id": "msg_01X",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }
    return "message_start", {"type": "message_start", "message": message}


def block_start(index: int, block: dict[str, Any]) -> Event:
    return "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> Event:
    return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> Event:
    return "content_block_stop", {"type": "content_block_stop", "index": index}


def message_end(stop_reason: str = "end_turn", output_tokens: int = 5) -> list[Event]:
    delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    return [
        ("message_delta", {**delta, "usage": {"output_tokens": output_tokens}}),
        ("message_stop", {"type": "message_stop"}),
    ]


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-01X",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "my-model",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": None,
    }


# -- fixed cases ------------------------------------------------------------------------


def test_text_stream_exact_chunks() -> None:
    chunks = run([
        message_start(cached=4),
        ("ping", {"type": "ping"}),
        block_start(0, {"type": "text", "text": ""}),
        block_delta(0, {"type": "text_delta", "text": "Hel"}),
        block_delta(0, {"type": "text_delta", "text": "lo"}),
        block_stop(0),
        *message_end(output_tokens=2),
    ])  # fmt: skip
    assert chunks == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        {
            **chunk({}),
            "choices": [],
            "usage": {
                "prompt_tokens": 14,
                "completion_tokens": 2,
                "total_tokens": 16,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
        },
    ]


def test_without_include_usage_there_is_no_usage_at_all() -> None:
    chunks = run([message_start(), *message_end()], include_usage=False)
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "stop"]
    assert all("usage" not in c for c in chunks)


def test_tool_calls_thinking_and_dropped_blocks() -> None:
    names = build_tool_name_map([{"name": "mcp.fs.read"}], sanitize=True)
    chunks = run(
        [
            message_start(),
            block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
            block_delta(0, {"type": "thinking_delta", "thinking": "Hmm."}),
            block_delta(0, {"type": "signature_delta", "signature": "sig"}),
            block_stop(0),
            block_start(1, {"type": "redacted_thinking", "data": "zzz"}),
            block_stop(1),
            block_start(2, {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}),
            block_delta(2, {"type": "input_json_delta", "partial_json": '{"q": "x"}'}),
            block_stop(2),
            block_start(3, {"type": "tool_use", "id": "toolu_1", "name": "mcp_fs_read", "input": {}}),
            block_delta(3, {"type": "input_json_delta", "partial_json": ""}),
            block_delta(3, {"type": "input_json_delta", "partial_json": '{"path": '}),
            block_delta(3, {"type": "input_json_delta", "partial_json": '"/a"}'}),
            block_stop(3),
            block_start(4, {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {}}),
            block_stop(4),
            *message_end("tool_use"),
        ],
        tool_names=names,
    )
    deltas = [c["choices"][0]["delta"] for c in chunks[1:-1]]
    assert deltas == [
        {"reasoning_content": "Hmm."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "mcp.fs.read", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"path": '}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"/a"}'}}]},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": ""},
                }
            ]
        },
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_events_after_message_stop_are_ignored() -> None:
    stream = translator()
    for name, data in [message_start(), *message_end()]:
        stream.feed(name, data)
    assert stream.done
    assert stream.feed("content_block_start", block_start(0, {"type": "text", "text": "late"})[1]) == []


def test_stop_without_message_delta_still_finishes() -> None:
    chunks = run([message_start(), ("message_stop", {"type": "message_stop"})], include_usage=False)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_accounting_usage_is_anthropic_shaped() -> None:
    stream = translator()
    for name, data in [message_start(input_tokens=7, cached=3), *message_end(output_tokens=9)]:
        stream.feed(name, data)
    assert stream.usage == {"input_tokens": 7, "output_tokens": 9, "cache_read_input_tokens": 3}


# -- generated streams --------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_value = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), _text)
_tool_input = st.dictionaries(_text, st.one_of(_json_value, st.lists(_json_value, max_size=3)), max_size=4)


@st.composite
def _fragments(draw: st.DrawFn, text: str) -> list[str]:
    return pieces(text, list(draw(st.sets(st.integers(0, len(text)), max_size=4))))


@st.composite
def _block_events(draw: st.DrawFn, index: int, tool_number: int) -> list[Event]:
    kind = draw(
        st.sampled_from(["text", "text", "thinking", "tool_use", "redacted_thinking", "server_tool_use"])
    )
    if kind == "text":
        pieces = draw(st.lists(_text, max_size=4))
        deltas = [block_delta(index, {"type": "text_delta", "text": p}) for p in pieces]
        return [block_start(index, {"type": "text", "text": ""}), *deltas, block_stop(index)]
    if kind == "thinking":
        pieces = draw(st.lists(_text, max_size=3))
        deltas = [block_delta(index, {"type": "thinking_delta", "thinking": p}) for p in pieces]
        signature = block_delta(index, {"type": "signature_delta", "signature": "c2ln"})
        start = block_start(index, {"type": "thinking", "thinking": "", "signature": ""})
        return [start, *deltas, signature, block_stop(index)]
    if kind == "redacted_thinking":
        return [block_start(index, {"type": "redacted_thinking", "data": "eHl6"}), block_stop(index)]
    arguments = json.dumps(draw(_tool_input), ensure_ascii=draw(st.booleans()))
    deltas = [
        block_delta(index, {"type": "input_json_delta", "partial_json": f})
        for f in draw(_fragments(arguments))
    ]
    if kind == "server_tool_use":
        start = block_start(
            index, {"type": "server_tool_use", "id": f"srvtoolu_{index}", "name": "web_search", "input": {}}
        )
        return [start, *deltas, block_stop(index)]
    name = draw(st.sampled_from(["Bash", "Read", "mcp_fs_read"]))
    start = block_start(index, {"type": "tool_use", "id": f"toolu_{tool_number}", "name": name, "input": {}})
    return [start, *deltas, block_stop(index)]


@st.composite
def anthropic_streams(draw: st.DrawFn) -> list[Event]:
    events = [message_start(draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)))]
    for index in range(draw(st.integers(0, 5))):
        events.extend(draw(_block_events(index, index)))
    stop_reason = draw(
        st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"])
    )
    events.extend(message_end(stop_reason, draw(st.integers(0, 10_000))))
    for _ in range(draw(st.integers(0, 3))):  # pings may come anywhere after message_start
        events.insert(draw(st.integers(1, len(events) - 1)), ("ping", {"type": "ping"}))
    return events


def _check_grammar(chunks: list[dict[str, Any]], include_usage: bool) -> None:
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    with_choices = chunks[:-1] if include_usage else chunks
    finishes = [c["choices"][0]["finish_reason"] for c in with_choices]
    assert finishes[-1] is not None
    assert all(f is None for f in finishes[:-1])
    if include_usage:
        assert chunks[-1]["choices"] == []
        assert isinstance(chunks[-1]["usage"], dict)
        assert all(c["usage"] is None for c in with_choices)
    assert len({c["id"] for c in chunks}) == 1
    seen_calls: list[int] = []
    for c in with_choices:
        ChatCompletionChunk.model_validate(c)
        assert c["object"] == "chat.completion.chunk"
        assert c["model"] == "my-model"
        for call in c["choices"][0]["delta"].get("tool_calls", []):
            if call["index"] not in seen_calls:
                assert call["index"] == len(seen_calls), "tool call indexes count up from 0"
                assert call["id"]
                assert call["type"] == "function"
                assert call["function"]["name"]
                seen_calls.append(call["index"])
            else:
                assert set(call) == {"index", "function"}
                assert set(call["function"]) == {"arguments"}
                assert call["function"]["arguments"], "no empty argument fragments"


def _sdk_message(events: list[Event]) -> dict[str, Any]:
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        if name != "ping":
            snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    dumped: dict[str, Any] = snapshot.model_dump(mode="json")
    return dumped


def _tool_calls(message: Any) -> list[tuple[str, str, Any]]:
    calls = message.tool_calls or []
    return [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls]


@settings(max_examples=150, deadline=None)
@given(anthropic_streams(), st.booleans())
def test_generated_streams_are_valid_and_accumulate_to_the_non_streamed_answer(
    events: list[Event], include_usage: bool
) -> None:
    names = build_tool_name_map([{"name": "mcp.fs.read"}], sanitize=True)
    chunks = run(events, include_usage=include_usage, tool_names=names)
    _check_grammar(chunks, include_usage)

    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for c in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(c))
    streamed = state.current_completion_snapshot  # (get_final_completion raises on length and content_filter)
    expected = anthropic_to_openai_response(
        _sdk_message(events), client_model="my-model", tool_names=names, created=CREATED
    )
    choice = expected["choices"][0]
    got = streamed.choices[0]
    assert (got.message.content or None) == choice["message"]["content"]
    assert (getattr(got.message, "reasoning_content", None) or None) == choice["message"].get(
        "reasoning_content"
    )
    assert _tool_calls(got.message) == [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in choice["message"].get("tool_calls", [])
    ]
    assert got.finish_reason == choice["finish_reason"]
    if include_usage:
        assert streamed.usage is not None
        assert streamed.usage.model_dump(exclude_none=True) == expected["usage"]


# -- the byte-level generator ---------------------------------------------------------------


class ChunkedSource:
    """A ByteSource serving fixed network chunks."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.closed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part

    async def aread(self) -> bytes:
        return b"".join(self.parts)

    async def aclose(self) -> None:
        self.closed = True


async def _collect(parts: list[bytes], secrets: tuple[str, ...] = ()) -> tuple[list[bytes], list[Any], bool]:
    source = ChunkedSource(parts)
    outcome: list[Any] = []
    writes = [
        w
        async for w in anthropic_to_openai_chunks(
            source,
            translator(),
            secrets=secrets,
            on_complete=lambda usage, status: outcome.extend([usage, status]),
        )
    ]
    return writes, outcome, source.closed


@settings(max_examples=40, deadline=None)
@given(anthropic_streams(), st.data())
async def test_generator_translates_any_network_chunking(events: list[Event], data: st.DataObject) -> None:
    wire = b"".join(encode_event(name, payload) for name, payload in events)
    parts = pieces(wire, list(data.draw(st.sets(st.integers(1, len(wire) - 1), max_size=8))))
    writes, (usage, status), closed = await _collect(parts)
    decoded = SSEDecoder().feed(b"".join(writes))
    assert decoded[-1].data == "[DONE]"
    assert [json.loads(e.data) for e in decoded[:-1]] == run(events)
    assert len(writes) <= len(parts)  # at most one write per upstream chunk
    assert status == 200
    assert closed
    final_delta = next(payload for name, payload in events if name == "message_delta")
    assert usage["output_tokens"] == final_delta["usage"]["output_tokens"]


async def test_upstream_error_event_ends_the_stream_with_an_error_chunk() -> None:
    wire = [
        encode_event(*message_start()),
        encode_event(*block_start(0, {"type": "text", "text": ""}))
        + encode_event(*block_delta(0, {"type": "text_delta", "text": "par"}))
        + encode_event(
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded sk-secret-123456789"},
            },
        ),
    ]
    writes, (_, status), closed = await _collect(wire, secrets=("sk-secret-123456789",))
    decoded = SSEDecoder().feed(b"".join(writes))
    last = json.loads(decoded[-1].data)
    assert json.loads(decoded[-2].data)["choices"][0]["delta"] == {"content": "par"}
    assert last["error"]["message"] == "upstream error: Overloaded [redacted]"
    assert last["error"]["type"] == "server_error"
    assert "[DONE]" not in b"".join(writes).decode()
    assert status == 502
    assert closed


@pytest.mark.parametrize(
    "parts",
    [
        [encode_event(*message_start()), encode_event(*block_start(0, {"type": "text", "text": ""}))],
        [encode_event(*message_start()) + b"event: content_block_start\ndata: {not json}\n\n"],
    ],
)
async def test_truncated_or_garbled_stream_ends_with_an_error_chunk(parts: list[bytes]) -> None:
    writes, (_, status), _ = await _collect(parts)
    last = json.loads(SSEDecoder().feed(b"".join(writes))[-1].data)
    assert "error" in last
    assert status == 502
