"""OpenAI chunk stream → Anthropic event stream: fixed cases and generated streams."""

import copy
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.sse import encode_event
from routing.translation import OpenAIToAnthropicStream, StreamEvent, ToolNameMap, build_tool_name_map

IDENTITY = ToolNameMap()
STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
DELTA_FOR_BLOCK = {
    "text": {"text_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
    "tool_use": {"input_json_delta"},
}


def chunk(
    delta: dict[str, Any] | None = None, finish_reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish_reason}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [choice],
        **extra,
    }


def usage_chunk(prompt: int = 12, completion: int = 7, cached: int | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}


def tool_delta(
    index: int, *, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def run(chunks: list[dict[str, Any]], tool_names: ToolNameMap = IDENTITY, **kwargs: Any) -> list[StreamEvent]:
    stream = OpenAIToAnthropicStream(client_model="claude-sonnet-4-5", tool_names=tool_names, **kwargs)
    events = [event for item in chunks for event in stream.feed(item)]
    return events + stream.finish()


@dataclass
class Rebuilt:
    """What a client reconstructs from the events: blocks with their concatenated deltas."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    start_usage: dict[str, Any] = field(default_factory=dict)


def _apply_delta(block: dict[str, Any], delta: dict[str, Any]) -> None:
    kind = delta["type"]
    assert kind in DELTA_FOR_BLOCK[block["type"]], f"{kind} inside a {block['type']} block"
    assert not block.get("signed"), "no delta may follow a thinking block's signature"
    if kind == "text_delta":
        assert delta["text"], "empty text delta"
        block["text"] += delta["text"]
    elif kind == "thinking_delta":
        assert delta["thinking"], "empty thinking delta"
        block["thinking"] += delta["thinking"]
    elif kind == "signature_delta":
        assert isinstance(delta["signature"], str)
        block["signed"] = True
    else:
        assert delta["partial_json"], "empty input_json_delta"
        block["json"] += delta["partial_json"]


def validate(events: list[StreamEvent]) -> Rebuilt:
    """Check the Anthropic event grammar and rebuild the message the events describe."""
    names = [name for name, _ in events]
    assert names[0] == "message_start", names
    assert names[-2:] == ["message_delta", "message_stop"], names
    assert names.count("message_start") == names.count("message_delta") == names.count("message_stop") == 1
    for name, data in events:
        assert data["type"] == name
        json.dumps(data)
    start = events[0][1]["message"]
    assert (start["content"], start["stop_reason"], start["role"]) == ([], None, "assistant")
    assert set(start["usage"]) == {"input_tokens", "output_tokens"}
    assert start["usage"]["output_tokens"] == 0
    rebuilt = Rebuilt(start_usage=start["usage"])
    open_index: int | None = None
    for name, data in events[1:-2]:
        if name == "content_block_start":
            assert open_index is None, "a block opened while another is open"
            assert data["index"] == len(rebuilt.blocks), "block indexes must be 0, 1, 2…"
            open_index = data["index"]
            block = dict(data["content_block"])
            assert block["type"] in DELTA_FOR_BLOCK
            block.update(text="", thinking="", json="") if block["type"] != "tool_use" else block.update(
                json=""
            )
            rebuilt.blocks.append(block)
        elif name == "content_block_delta":
            assert data["index"] == open_index, "delta for a block that is not open"
            _apply_delta(rebuilt.blocks[open_index], data["delta"])
        elif name == "content_block_stop":
            assert data["index"] == open_index, "stop for a block that is not open"
            if rebuilt.blocks[open_index]["type"] == "thinking":
                assert rebuilt.blocks[open_index].get("signed"), "thinking block closed without signature"
            open_index = None
        else:
            assert name == "ping", f"unexpected event {name}"
    assert open_index is None, "a block was left open"
    final = events[-2][1]
    assert final["delta"]["stop_reason"] in STOP_REASONS
    assert isinstance(final["usage"]["output_tokens"], int)
    rebuilt.stop_reason = final["delta"]["stop_reason"]
    rebuilt.stop_sequence = final["delta"]["stop_sequence"]
    rebuilt.usage = final["usage"]
    return rebuilt


def sdk_message(events: list[StreamEvent]) -> Any:
    """The final message as the official anthropic SDK's stream accumulator builds it."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        if name != "ping":
            snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=json_bufs)
    return snapshot


# -- fixed cases ------------------------------------------------------------------------


def test_plain_text_stream_exact_events() -> None:
    events = run([
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        usage_chunk(prompt=12, completion=2),
    ])  # fmt: skip
    assert events == [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_chatcmpl-1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"input_tokens": 12, "output_tokens": 2}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip


def test_events_come_out_as_chunks_arrive() -> None:
    stream = OpenAIToAnthropicStream(client_model="m", tool_names=IDENTITY)
    assert [name for name, _ in stream.feed(chunk({"content": "a"}))] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
    ]
    assert [
        name for name, _ in stream.feed(chunk(tool_delta(0, call_id="c", name="Bash", arguments='{"a"')))
    ] == [
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
    ]
    assert stream.feed(chunk(tool_delta(0, arguments=": 1}")))[0][1]["delta"] == {
        "type": "input_json_delta",
        "partial_json": ": 1}",
    }


def test_finish_without_any_chunk_is_a_complete_empty_message() -> None:
    stream = OpenAIToAnthropicStream(
        client_model="m", tool_names=IDENTITY, message_id="msg_fixed", input_tokens_hint=42
    )
    events = stream.finish()
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert events[0][1]["message"]["id"] == "msg_fixed"
    assert events[0][1]["message"]["usage"] == {"input_tokens": 42, "output_tokens": 0}
    assert events[1][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[1][1]["usage"] == {"output_tokens": 0}
    validate(events)
    assert stream.finish() == []
    assert stream.feed(chunk({"content": "late"})) == []


def test_reasoning_text_and_tools_in_order() -> None:
    names = build_tool_name_map([{"name": "mcp__srv__do.it"}], sanitize=True)
    events = run(
        [
            chunk({"role": "assistant", "reasoning_content": "think"}),
            chunk({"reasoning_content": "ing"}),
            chunk({"content": "Let me look."}),
            chunk(tool_delta(0, call_id="call_a", name="Bash", arguments="")),
            chunk(tool_delta(0, arguments='{"command"')),
            chunk(tool_delta(0, arguments=': "ls"}')),
            chunk(tool_delta(1, call_id="call_b", name="mcp__srv__do_it", arguments="{}")),
            chunk({}, "tool_calls"),
            usage_chunk(prompt=100, completion=30, cached=60),
        ],
        tool_names=names,
    )
    rebuilt = validate(events)
    assert [(b["type"], b.get("text") or b.get("thinking") or b["json"]) for b in rebuilt.blocks] == [
        ("thinking", "thinking"),
        ("text", "Let me look."),
        ("tool_use", '{"command": "ls"}'),
        ("tool_use", "{}"),
    ]
    assert [(b.get("id"), b.get("name"), b.get("input")) for b in rebuilt.blocks[2:]] == [
        ("call_a", "Bash", {}),
        ("call_b", "mcp__srv__do.it", {}),
    ]
    assert events[1][1]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert rebuilt.stop_reason == "tool_use"
    assert rebuilt.usage == {"input_tokens": 40, "output_tokens": 30, "cache_read_input_tokens": 60}


@pytest.mark.parametrize("usage_first", [True, False])
def test_usage_before_or_after_the_finish_chunk(usage_first: bool) -> None:
    tail = [usage_chunk(completion=9), chunk({}, "length")]
    events = run([chunk({"content": "x"}), *(tail if usage_first else reversed(tail))])
    rebuilt = validate(events)
    assert (rebuilt.stop_reason, rebuilt.usage["output_tokens"]) == ("max_tokens", 9)


def test_usage_in_the_first_chunk_sets_message_start_input_tokens() -> None:
    first = chunk({"content": "x"}, usage={"prompt_tokens": 50, "completion_tokens": 1})
    events = run([first], input_tokens_hint=3)
    assert events[0][1]["message"]["usage"] == {"input_tokens": 50, "output_tokens": 0}


def test_missing_finish_reason_and_no_usage() -> None:
    rebuilt = validate(run([chunk({"content": "cut"})]))
    assert (rebuilt.stop_reason, rebuilt.usage) == ("end_turn", {"output_tokens": 0})
    rebuilt = validate(run([chunk(tool_delta(0, call_id="c", name="Read", arguments="{}"))]))
    assert rebuilt.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("tool_calls", "end_turn"),
    ],
)
def test_stop_reason_mapping(finish_reason: str, stop_reason: str) -> None:
    assert validate(run([chunk({"content": "x"}), chunk({}, finish_reason)])).stop_reason == stop_reason


def test_stop_sequence_reported_by_the_provider() -> None:
    final = chunk({}, "stop")
    final["choices"][0]["stop_reason"] = "END"
    rebuilt = validate(run([chunk({"content": "x"}), final], stop_sequences=["END"]))
    assert (rebuilt.stop_reason, rebuilt.stop_sequence) == ("stop_sequence", "END")
    rebuilt = validate(run([chunk({"content": "x"}), final], stop_sequences=["OTHER"]))
    assert (rebuilt.stop_reason, rebuilt.stop_sequence) == ("end_turn", None)


def test_empty_and_null_deltas_produce_nothing() -> None:
    stream = OpenAIToAnthropicStream(client_model="m", tool_names=IDENTITY)
    stream.feed(chunk({"role": "assistant"}))
    for empty in (
        chunk({"content": ""}),
        chunk({"content": None, "reasoning_content": ""}),
        chunk(None),
        {"id": "x", "choices": [{"index": 0, "delta": None, "finish_reason": None}]},
        {"id": "x", "choices": []},
        {"id": "x", "choices": [{"index": 1, "delta": {"content": "other choice"}}]},
        chunk(tool_delta(0, arguments="")) | {"choices": [{"index": 0, "delta": {"tool_calls": []}}]},
    ):
        assert stream.feed(empty) == []


def test_refusal_delta_is_text_with_refusal_stop_reason() -> None:
    rebuilt = validate(run([chunk({"refusal": "I can't."}), chunk({}, "stop")]))
    assert rebuilt.blocks[0]["text"] == "I can't."
    assert rebuilt.stop_reason == "refusal"


def test_reasoning_under_the_openrouter_name_is_not_doubled() -> None:
    rebuilt = validate(run([chunk({"reasoning": "r", "reasoning_content": "r"}), chunk({"content": "a"})]))
    assert [b["thinking"] for b in rebuilt.blocks if b["type"] == "thinking"] == ["r"]


def test_tool_call_variants() -> None:
    whole_calls = {
        "tool_calls": [
            {
                "index": 0,
                "id": "a",
                "type": "function",
                "function": {"name": "Read", "arguments": '{"p": 1}'},
            },
            {"index": 1, "id": "b", "type": "function", "function": {"name": "Glob", "arguments": {"q": 2}}},
        ]
    }
    rebuilt = validate(run([chunk(whole_calls, "tool_calls")]))
    assert [(b["id"], b["name"], json.loads(b["json"])) for b in rebuilt.blocks] == [
        ("a", "Read", {"p": 1}),
        ("b", "Glob", {"q": 2}),
    ]


def test_same_index_with_a_new_id_is_a_new_call_and_index_less_fragments_continue() -> None:
    rebuilt = validate(
        run([
            chunk({"tool_calls": [{"id": "a", "function": {"name": "Read", "arguments": '{"p":'}}]}),
            chunk({"tool_calls": [{"function": {"arguments": " 1}"}}]}),
            chunk(tool_delta(0, call_id="b", name="Glob", arguments="{}")),
            chunk(tool_delta(0, call_id="c", name="Grep", arguments="{}")),
        ])
    )  # fmt: skip
    assert [(b["id"], b["json"]) for b in rebuilt.blocks] == [("a", '{"p": 1}'), ("b", "{}"), ("c", "{}")]


def test_missing_tool_call_id_is_generated() -> None:
    events = run([chunk({"tool_calls": [{"index": 0, "function": {"name": "Read", "arguments": "{}"}}]})])
    assert events[1][1]["content_block"]["id"].startswith("toolu_")


def test_fragment_for_an_already_closed_call_is_dropped() -> None:
    events = run([
        chunk(tool_delta(0, call_id="a", name="Read", arguments="{}")),
        chunk(tool_delta(1, call_id="b", name="Glob", arguments="{}")),
        chunk(tool_delta(0, arguments=" ")),
    ])  # fmt: skip
    assert [b["json"] for b in validate(events).blocks] == ["{}", "{}"]


def test_error_event_ends_the_stream() -> None:
    stream = OpenAIToAnthropicStream(client_model="m", tool_names=IDENTITY)
    stream.feed(chunk({"content": "partial"}))
    assert stream.error_event("overloaded_error", "upstream stream timed out") == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "upstream stream timed out"}},
    )
    assert stream.feed(chunk({"content": "more"})) == []
    assert stream.finish() == []


def test_garbage_chunks_do_not_break_the_grammar() -> None:
    garbage: list[Any] = [
        None, 5, "x", {"choices": "no"}, {"choices": [None, 3]}, {"choices": [{"delta": {"tool_calls": "no"}}]},
        {"choices": [{"delta": {"tool_calls": [None, {"function": "no"}]}}]}, {"usage": "none"},
        {"choices": [{"delta": {"content": 5, "reasoning_content": ["x"]}, "finish_reason": 7}]},
    ]  # fmt: skip
    validate(run(garbage))


def test_sdk_client_parses_the_encoded_stream() -> None:
    """The official SDK (on httpx2, its httpx fork), reading our events as SSE bytes, builds the final message."""
    events = run([
        chunk({"reasoning_content": "hmm"}),
        chunk({"content": "Hi"}),
        chunk(tool_delta(0, call_id="call_1", name="Bash", arguments='{"command": "ls"}')),
        chunk({}, "tool_calls"),
        usage_chunk(prompt=10, completion=4),
    ])  # fmt: skip
    body = b"".join(encode_event(name, data) for name, data in events)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    client = anthropic.Anthropic(
        api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(handler))
    )
    with client.messages.stream(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        message = stream.get_final_message()
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"command": "ls"}
    assert (message.stop_reason, message.usage.output_tokens, message.usage.input_tokens) == (
        "tool_use",
        4,
        10,
    )


# -- generated streams ------------------------------------------------------------------

TOOL_NAMES = ["Bash", "Read", "mcp__srv__do.it", "x" * 70]
JSON_OBJECTS = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=4,
)
SEGMENT = st.one_of(
    st.tuples(st.just("thinking"), st.text(min_size=1, max_size=30)),
    st.tuples(st.just("text"), st.text(min_size=1, max_size=30)),
    st.tuples(st.just("tool_use"), st.sampled_from(TOOL_NAMES), JSON_OBJECTS.map(json.dumps)),
)


@dataclass
class Script:
    chunks: list[dict[str, Any]]
    expected_blocks: list[tuple[str, str, str]]  # (type, name or "", concatenated text / thinking / json)
    finish_reason: str | None
    output_tokens: int | None
    description: list[str] = field(default_factory=list)


def _split(data: st.DataObject, text: str) -> list[str]:
    if len(text) < 2:
        return [text]
    cuts = sorted(data.draw(st.sets(st.integers(1, len(text) - 1), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _expected(segments: list[tuple[str, ...]]) -> list[tuple[str, str, str]]:
    blocks: list[tuple[str, str, str]] = []
    for segment in segments:
        kind = segment[0]
        if kind != "tool_use" and blocks and blocks[-1][0] == kind:
            blocks[-1] = (kind, "", blocks[-1][2] + segment[1])  # adjacent text merges into one block
        else:
            blocks.append((kind, segment[1], segment[2]) if kind == "tool_use" else (kind, "", segment[1]))
    return blocks


def _segment_deltas(data: st.DataObject, segment: tuple[str, ...], tool_index: int) -> list[dict[str, Any]]:
    if segment[0] == "tool_use":
        fragments = _split(data, segment[2])
        first_arguments = fragments.pop(0) if data.draw(st.booleans()) else ""
        deltas = [
            tool_delta(tool_index, call_id=f"call_{tool_index}", name=segment[1], arguments=first_arguments)
        ]
        return deltas + [tool_delta(tool_index, arguments=fragment) for fragment in fragments]
    key = (
        data.draw(st.sampled_from(["reasoning_content", "reasoning"]))
        if segment[0] == "thinking"
        else "content"
    )
    deltas = [{key: fragment} for fragment in _split(data, segment[1])]
    if data.draw(st.booleans()):
        deltas.insert(data.draw(st.integers(0, len(deltas))), {"content": ""})
    return deltas


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    data = draw(st.data())
    segments = draw(st.lists(SEGMENT, max_size=7))
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}] if draw(st.booleans()) else []
    tool_index = 0
    for segment in segments:
        deltas.extend(_segment_deltas(data, segment, tool_index))
        tool_index += segment[0] == "tool_use"
    chunks = [chunk(delta) for delta in deltas]
    finish_reason = draw(st.sampled_from([None, "stop", "length", "tool_calls", "content_filter"]))
    if finish_reason is not None:
        if chunks and draw(st.booleans()):
            chunks[-1]["choices"][0]["finish_reason"] = finish_reason
        else:
            chunks.append(chunk({}, finish_reason))
    output_tokens = draw(st.none() | st.integers(0, 5000))
    if output_tokens is not None:
        position = draw(st.integers(0, len(chunks)))  # before, between or after the finish chunk
        chunks.insert(position, usage_chunk(prompt=321, completion=output_tokens))
    return Script(chunks, _expected(segments), finish_reason, output_tokens)


def _expected_stop_reason(script: Script) -> str:
    if script.finish_reason == "length":
        return "max_tokens"
    if script.finish_reason == "content_filter":
        return "refusal"
    return "tool_use" if any(kind == "tool_use" for kind, _, _ in script.expected_blocks) else "end_turn"


@settings(max_examples=400, deadline=None)
@given(script=scripts(), sanitize=st.booleans())
def test_generated_streams_always_give_a_valid_faithful_event_sequence(
    script: Script, sanitize: bool
) -> None:
    tool_names = build_tool_name_map([{"name": name} for name in TOOL_NAMES], sanitize=sanitize)
    upstream_chunks = copy.deepcopy(script.chunks)
    for item in upstream_chunks:  # the upstream sees the sanitized names
        for choice in item["choices"]:
            for call in choice["delta"].get("tool_calls", []):
                if "name" in call["function"]:
                    call["function"]["name"] = tool_names.to_upstream(call["function"]["name"])
    events = run(upstream_chunks, tool_names=tool_names)
    rebuilt = validate(events)
    got = [(b["type"], b.get("name", ""), b["thinking"] if b["type"] == "thinking" else b["json"] if b["type"] == "tool_use" else b["text"]) for b in rebuilt.blocks]  # fmt: skip
    assert got == script.expected_blocks
    assert rebuilt.stop_reason == _expected_stop_reason(script)
    assert rebuilt.usage["output_tokens"] == (script.output_tokens or 0)

    message = sdk_message(events)
    assert [block.type for block in message.content] == [kind for kind, _, _ in script.expected_blocks]
    for block, (kind, name, content) in zip(message.content, script.expected_blocks, strict=True):
        if kind == "text":
            assert block.text == content
        elif kind == "thinking":
            assert (block.thinking, block.signature) == (content, "")
        else:
            assert (block.name, block.input) == (name, json.loads(content))
    assert message.stop_reason == rebuilt.stop_reason
    assert message.usage.output_tokens == (script.output_tokens or 0)
