"""OpenRouter's reasoning_details carried through Anthropic thinking blocks: the pure
encoding, the answer translation (whole and streamed) and the next request."""

import base64
import itertools
import json
from dataclasses import replace
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.families import ApiFormat, ProviderFamily, guess_family
from routing.adapters.http import provider_quirks
from routing.adapters.openai_answers import completion_as_chunk
from routing.translation import (
    PLAIN_OPENAI,
    OpenAIToAnthropicStream,
    ProviderQuirks,
    StreamEvent,
    anthropic_to_openai_request,
    build_tool_name_map,
    openai_to_anthropic_response,
)
from routing.translation.reasoning_details import (
    MARKER,
    block_detail,
    continues,
    detail_block,
    detail_blocks,
    details_from_blocks,
    merged,
)
from tests.routing.test_model_resolution import provider

OPENROUTER = ProviderQuirks(reasoning_details=True)
NAMES = build_tool_name_map([], sanitize=False)
CLAUDE = "anthropic-claude-v1"

TEXT: dict[str, Any] = {
    "type": "reasoning.text",
    "text": "The user wants the files.\nI will run ls.",
    "signature": "EqQBCkYIBxgCKkBsignature+/==",
    "id": None,
    "format": CLAUDE,
    "index": 0,
}
ENCRYPTED: dict[str, Any] = {
    "type": "reasoning.encrypted",
    "data": "eyJlbmNyeXB0ZWQiOiJ0cnVlIn0=",
    "id": "tool_call_1",
    "format": "google-gemini-v1",
    "index": 1,
}
SUMMARY: dict[str, Any] = {
    "type": "reasoning.summary",
    "summary": "**Listing** files",
    "format": "openai-responses-v1",
    "index": 2,
}
DETAILS = [TEXT, ENCRYPTED, SUMMARY]

TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
}


def completion(message: dict[str, Any], finish: str = "tool_calls") -> dict[str, Any]:
    return {"id": "gen-1", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "gen-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def answer(message: dict[str, Any], quirks: ProviderQuirks = OPENROUTER) -> list[dict[str, Any]]:
    translated = openai_to_anthropic_response(
        completion({"role": "assistant", **message}),
        client_model="m",
        tool_names=NAMES,
        stop_sequences=None,
        quirks=quirks,
    )
    content: list[dict[str, Any]] = translated["content"]
    return content


def streamed(chunks: list[dict[str, Any]], quirks: ProviderQuirks = OPENROUTER) -> list[StreamEvent]:
    stream = OpenAIToAnthropicStream(client_model="m", tool_names=NAMES, quirks=quirks)
    return [event for item in chunks for event in stream.feed(item)] + stream.finish()


def sdk_blocks(events: list[StreamEvent]) -> list[dict[str, Any]]:
    """The content the official anthropic SDK's stream accumulator builds from the events."""
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for _, data in events:
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    return [block.model_dump(exclude_none=True) for block in snapshot.content]


def next_request(assistant_content: list[dict[str, Any]], quirks: ProviderQuirks = OPENROUTER) -> Any:
    """The assistant message OpenRouter gets on the turn after ``assistant_content``."""
    body = {
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "list the files"},
            {"role": "assistant", "content": assistant_content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a"}]},
        ],
    }
    sent = anthropic_to_openai_request(
        body, upstream_model="anthropic/claude-sonnet-4.5", tool_names=NAMES, quirks=quirks
    )
    return sent["messages"][1]


# -- the encoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        TEXT,
        ENCRYPTED,
        SUMMARY,
        {"type": "reasoning.text", "text": "", "signature": "s", "index": 0},
        {"type": "reasoning.text", "signature": "only a signature", "index": 0},
        {"type": "reasoning.text", "text": None, "signature": None, "id": "r1", "format": "unknown"},
        {"type": "reasoning.future", "payload": {"nested": [1, 2.5, None, True]}, "index": 3},
        {"index": 0, "format": CLAUDE, "type": "reasoning.text", "text": 'ü-🙂 \u2028 "quoted"'},
    ],
)
def test_each_entry_comes_back_exactly_with_its_key_order(entry: dict[str, Any]) -> None:
    block = detail_block(entry, 4)
    assert block_detail(json.loads(json.dumps(block))) == (4, entry)
    assert list(block_detail(block)[1]) == list(entry)  # type: ignore[index]


def test_entries_with_text_are_thinking_the_rest_redacted_thinking() -> None:
    blocks = detail_blocks(DETAILS)
    assert [b["type"] for b in blocks] == ["thinking", "redacted_thinking", "thinking"]
    assert blocks[0]["thinking"] == TEXT["text"]
    assert blocks[2]["thinking"] == SUMMARY["summary"]
    assert all((b.get("signature") or b.get("data", "")).startswith(MARKER) for b in blocks)
    # The shown text is not carried twice: the signature holds the rest of the entry.
    encoded = blocks[0]["signature"][len(MARKER) :]
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert payload["d"] == {key: value for key, value in TEXT.items() if key != "text"}
    assert detail_blocks(DETAILS) == blocks  # deterministic


def test_the_list_comes_back_in_order_whatever_the_client_does_to_the_blocks() -> None:
    blocks = detail_blocks(DETAILS)
    assert details_from_blocks(blocks) == DETAILS
    assert details_from_blocks([blocks[2], blocks[0], blocks[1]]) == DETAILS  # reordered
    assert details_from_blocks([blocks[2], blocks[0]]) == [TEXT, SUMMARY]  # one dropped
    assert details_from_blocks([blocks[1], *blocks, blocks[1]]) == DETAILS  # repeated


@pytest.mark.parametrize(
    "block",
    [
        {"type": "thinking", "thinking": "Deep thought", "signature": ""},
        {"type": "thinking", "thinking": "Real Claude", "signature": "EqQBCkYIBxgCKkB…"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va…"},
        {"type": "thinking", "thinking": "x", "signature": MARKER + "!!!not base64"},
        {"type": "thinking", "thinking": "x", "signature": MARKER + "WzEsMl0"},  # [1,2]
        {"type": "thinking", "signature": detail_block(TEXT, 0)["signature"]},  # text missing
        {"type": "redacted_thinking", "data": detail_block(TEXT, 0)["signature"]},  # no text to put back
    ],
)
def test_blocks_that_carry_no_entry_are_ignored(block: dict[str, Any]) -> None:
    assert block_detail(block) is None
    assert details_from_blocks([block]) == []


def test_fragments_of_one_entry_merge_and_the_signature_fills_in_last() -> None:
    first = {
        "type": "reasoning.text",
        "text": "The user ",
        "signature": None,
        "id": None,
        "format": CLAUDE,
        "index": 0,
    }
    assert continues(first, {"type": "reasoning.text", "text": "wants", "index": 0})
    entry = merged(first, {"type": "reasoning.text", "text": "wants", "index": 0, "format": CLAUDE})
    entry = merged(entry, {"type": "reasoning.text", "text": "", "signature": "sig", "index": 0})
    assert entry == {**first, "text": "The user wants", "signature": "sig"}


@pytest.mark.parametrize(
    "fragment",
    [
        {"type": "reasoning.text", "text": "x", "index": 1},
        {"type": "reasoning.summary", "summary": "x", "index": 0},
        {"type": "reasoning.text", "text": "x"},
        {"type": "reasoning.text", "text": "x", "index": 0, "id": "other"},
    ],
)
def test_a_fragment_of_another_entry_does_not_continue(fragment: dict[str, Any]) -> None:
    assert not continues({"type": "reasoning.text", "text": "a", "index": 0, "id": "r1"}, fragment)


def test_encrypted_entries_are_never_merged() -> None:
    assert not continues(ENCRYPTED, dict(ENCRYPTED))


# -- whole answers ----------------------------------------------------------------------


def test_a_whole_answer_round_trips_into_the_next_request() -> None:
    message = {
        "content": None,
        "reasoning": TEXT["text"],
        "reasoning_details": DETAILS,
        "tool_calls": [TOOL_CALL],
    }
    content = answer(message)
    assert [b["type"] for b in content] == ["thinking", "redacted_thinking", "thinking", "tool_use"]
    sent = next_request(content)
    assert sent["reasoning_details"] == DETAILS
    assert sent["tool_calls"][0]["id"] == "call_1"


def test_other_providers_keep_plain_reasoning_and_send_nothing_back() -> None:
    message = {"content": "ok", "reasoning": "plain", "reasoning_details": DETAILS}
    assert answer(message, PLAIN_OPENAI)[0] == {"type": "thinking", "thinking": "plain", "signature": ""}
    sent = next_request(answer(message), PLAIN_OPENAI)
    assert "reasoning_details" not in sent


def test_openrouter_answers_without_details_keep_plain_reasoning() -> None:
    content = answer({"content": "ok", "reasoning": "plain thoughts"})
    assert content[0] == {"type": "thinking", "thinking": "plain thoughts", "signature": ""}
    assert "reasoning_details" not in next_request(content)


def test_history_from_other_models_sends_no_details() -> None:
    claude = [
        {"type": "thinking", "thinking": "t", "signature": "EqQBreal"},
        {"type": "redacted_thinking", "data": "EmwK"},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}},
    ]
    assert "reasoning_details" not in next_request(claude)


def test_details_go_back_on_plain_answer_turns_too() -> None:
    content = answer({"content": "Hello", "reasoning_details": [TEXT]})
    sent = next_request(content)
    assert sent == {"role": "assistant", "content": "Hello", "reasoning_details": [TEXT]}


# -- streams ----------------------------------------------------------------------------


def _fragments(entry: dict[str, Any], *pieces: str) -> list[dict[str, Any]]:
    """``entry`` streamed as OpenRouter does: text pieces, then the signature alone."""
    head = {**entry, "text": pieces[0], "signature": None}
    tail = [
        {"type": entry["type"], "text": piece, "index": entry["index"], "format": CLAUDE}
        for piece in pieces[1:]
    ]
    signature = {"type": entry["type"], "text": "", "signature": entry["signature"], "index": entry["index"]}
    return [head, *tail, signature]


def openrouter_stream() -> list[dict[str, Any]]:
    pieces = ("The user wants the files.", "\nI will ", "run ls.")
    text_fragments = _fragments(TEXT, *pieces)
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"reasoning": f["text"], "reasoning_details": [f]}) for f in text_fragments[:-1]),
        chunk({"reasoning_details": [text_fragments[-1], ENCRYPTED]}),
        chunk({"tool_calls": [{"index": 0, **TOOL_CALL}]}),
        chunk({}, "tool_calls"),
    ]


def test_a_stream_shows_thinking_as_it_comes_and_signs_it_at_the_end() -> None:
    events = streamed(openrouter_stream())
    deltas = [data["delta"] for name, data in events if name == "content_block_delta" and data["index"] == 0]
    assert deltas[:3] == [
        {"type": "thinking_delta", "thinking": "The user wants the files."},
        {"type": "thinking_delta", "thinking": "\nI will "},
        {"type": "thinking_delta", "thinking": "run ls."},
    ]
    assert deltas[3] == {"type": "signature_delta", "signature": detail_block(TEXT, 0)["signature"]}
    starts = [data for name, data in events if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"),
        (1, "redacted_thinking"),
        (2, "tool_use"),
    ]
    assert starts[1]["content_block"] == detail_block(ENCRYPTED, 1)


def test_a_stream_round_trips_into_the_next_request_like_a_whole_answer() -> None:
    content = sdk_blocks(streamed(openrouter_stream()))
    assert content[:2] == detail_blocks([TEXT, ENCRYPTED])
    assert next_request(content)["reasoning_details"] == [TEXT, ENCRYPTED]


def test_a_whole_answer_given_for_a_stream_round_trips_too() -> None:
    message = {"role": "assistant", "content": None, "reasoning_details": DETAILS, "tool_calls": [TOOL_CALL]}
    content = sdk_blocks(streamed([completion_as_chunk(completion(message))]))
    assert next_request(content)["reasoning_details"] == DETAILS


def test_other_providers_stream_plain_reasoning() -> None:
    content = sdk_blocks(streamed(openrouter_stream(), PLAIN_OPENAI))
    assert content[0] == {
        "type": "thinking",
        "thinking": "The user wants the files.\nI will run ls.",
        "signature": "",
    }
    assert [b["type"] for b in content] == ["thinking", "tool_use"]


@st.composite
def split_entries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Entries of every kind, and the chunks that stream them: text cut anywhere, the
    signature last or not at all, fragments grouped into chunks at random."""
    entries: list[dict[str, Any]] = []
    fragments: list[dict[str, Any]] = []
    for index in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["reasoning.text", "reasoning.summary", "reasoning.encrypted"]))
        if kind == "reasoning.encrypted":
            entry = {"type": kind, "data": draw(st.text(max_size=20)), "id": f"r{index}", "index": index}
            entries.append(entry)
            fragments.append(entry)
            continue
        field = "text" if kind == "reasoning.text" else "summary"
        pieces = draw(st.lists(st.text(max_size=8), min_size=1, max_size=4))
        signature = draw(st.none() | st.text(min_size=1, max_size=12))
        entries.append({"type": kind, field: "".join(pieces), "format": CLAUDE, "index": index})
        fragments += [{"type": kind, field: piece, "format": CLAUDE, "index": index} for piece in pieces]
        if signature is not None:
            entries[-1]["signature"] = signature
            fragments.append({"type": kind, field: "", "signature": signature, "index": index})
    cuts = sorted(draw(st.sets(st.integers(1, max(len(fragments) - 1, 1)))))
    bounds = [0, *cuts, len(fragments)]
    chunks = [fragments[a:b] for a, b in itertools.pairwise(bounds) if fragments[a:b]]
    return entries, chunks


@settings(max_examples=150, deadline=None)
@given(case=split_entries(), order=st.randoms(use_true_random=False))
def test_any_stream_comes_back_as_its_entries_in_any_block_order(case: Any, order: Any) -> None:
    entries, chunks = case
    events = streamed(
        [
            *(chunk({"reasoning_details": group}) for group in chunks),
            chunk({"tool_calls": [{"index": 0, **TOOL_CALL}]}),
            chunk({}, "tool_calls"),
        ]
    )
    content = sdk_blocks(events)
    assert content[:-1] == detail_blocks(entries)  # the same blocks a whole answer gets
    order.shuffle(content)
    assert next_request(content).get("reasoning_details", []) == entries


@pytest.mark.parametrize(
    ("name", "base_url", "expected"),
    [
        ("openrouter", "https://openrouter.ai/api/v1", True),  # the packaged seed row
        ("openrouter-eu", "http://127.0.0.1:9000/v1", True),  # a gateway in front of it
        ("router", "https://openrouter.ai/api/v1", True),
        ("openai", "https://api.openai.com/v1", False),
        ("deepseek", "https://api.deepseek.com/v1", False),
    ],
)
def test_openrouter_is_guessed_by_name_or_host_and_its_quirk_follows_the_family(
    name: str, base_url: str, expected: bool
) -> None:
    family = guess_family(name, ApiFormat.OPENAI, base_url)
    assert (family == ProviderFamily.OPENROUTER) is expected
    config = replace(provider(name), base_url=base_url, family=family)
    assert provider_quirks(config).reasoning_details is expected
    # Declared, the family decides, whatever the name or host say.
    assert provider_quirks(replace(config, family=ProviderFamily.COMPATIBLE)).reasoning_details is False
