"""Checks every Responses stream test applies: the event grammar, and the openai SDK's view.

``check_grammar`` holds a stream to the order OpenAI documents and clients rely on;
``sdk_replay`` sends the events as SSE bytes through the openai SDK's own parsing
(strict pydantic validation of each event) and its ``responses.stream()`` accumulator,
and returns the final response as the SDK sees it.
"""

import json
import re
from typing import Any

from openai import omit
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from routing.translation.responses_events import sse
from routing.translation.responses_tools import FlatToolNames

# Codex's kinds of tools: a function, a namespace of functions, a hosted tool.
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "name": "exec_command", "strict": True, "parameters": {"type": "object"}},
    {
        "type": "namespace",
        "name": "multi_agent_v1",
        "description": "agents",
        "tools": [
            {"type": "function", "name": "spawn_agent", "strict": True, "parameters": {"type": "object"}}
        ],
    },
    {"type": "web_search", "external_web_access": False},
]

TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
# One letter per event of an item; the pattern of each item type in OpenAI's order.
_LETTERS = {
    "response.output_item.added": "A",
    "response.content_part.added": "P",
    "response.output_text.delta": "d",
    "response.output_text.done": "T",
    "response.content_part.done": "Q",
    "response.function_call_arguments.delta": "d",
    "response.function_call_arguments.done": "T",
    "response.reasoning_summary_part.added": "P",
    "response.reasoning_summary_text.delta": "d",
    "response.reasoning_summary_text.done": "T",
    "response.reasoning_summary_part.done": "Q",
    "response.output_item.done": "Z",
}
_PATTERNS = {"message": r"APd*TQZ", "function_call": r"Ad*TZ", "reasoning": r"A(Pd*TQ)?Z"}
_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def _item_text(item: dict[str, Any]) -> str:
    if item["type"] == "message":
        return "".join(part["text"] for part in item["content"])
    if item["type"] == "function_call":
        return str(item["arguments"])
    return "".join(part["text"] for part in item["summary"])


def _check_item(index: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    added, done = events[0], events[-1]
    kind = added["item"]["type"]
    letters = "".join(_LETTERS[event["type"]] for event in events)
    assert re.fullmatch(_PATTERNS[kind], letters), f"item {index} ({kind}): events {letters}"
    item_id = added["item"]["id"]
    assert done["item"]["id"] == item_id
    assert done["item"]["type"] == kind
    for event in events[1:-1]:
        assert event["item_id"] == item_id, event
        assert event.get("content_index", 0) == 0, event
        assert event.get("summary_index", 0) == 0, event
    deltas = "".join(event["delta"] for event in events if "delta" in event)
    for event in events:
        if event["type"].endswith("_text.done"):
            assert event["text"] == deltas
        if event["type"] == "response.function_call_arguments.done":
            assert event["arguments"] == deltas
        if event["type"].endswith("part.done"):
            assert event["part"]["text"] == deltas
    assert _item_text(done["item"]) == deltas, f"item {index}: done item text differs from its deltas"
    return dict(done["item"])


def check_grammar(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Assert the stream's grammar; answer the terminal response."""
    numbers = [event["sequence_number"] for event in events]
    assert numbers == list(range(len(events))), f"sequence numbers {numbers}"
    assert [event["type"] for event in events[:2]] == ["response.created", "response.in_progress"]
    terminals = [position for position, event in enumerate(events) if event["type"] in TERMINAL]
    assert terminals == [len(events) - 1], f"terminal events at {terminals} of {len(events)}"
    per_item: dict[int, list[dict[str, Any]]] = {}
    for event in events[2:-1]:
        assert event["type"] in _LETTERS, f"unexpected event {event['type']}"
        index = event["output_index"]
        if event["type"] == "response.output_item.added":
            assert index == len(per_item), f"item added at output_index {index}, expected {len(per_item)}"
            per_item[index] = []
        assert index in per_item, f"event for output_index {index} before its item was added"
        assert not per_item[index] or per_item[index][-1]["type"] != "response.output_item.done", (
            f"event for output_index {index} after its item was done"
        )
        per_item[index].append(event)
    done_items = [_check_item(index, item_events) for index, item_events in sorted(per_item.items())]
    terminal = events[-1]
    response = terminal["response"]
    assert response["status"] == TERMINAL[terminal["type"]]
    assert response["output"] == done_items, "the terminal response's output is not the items as done"
    return dict(response)


def parse_sse(body: bytes) -> list[dict[str, Any]]:
    """Events back from SSE bytes, checking each ``event:`` line names its data's type."""
    events = []
    for record in body.decode().split("\n\n"):
        if not record:
            continue
        name_line, data_line = record.split("\n")
        assert name_line.startswith("event: ")
        assert data_line.startswith("data: ")
        event = json.loads(data_line[len("data: ") :])
        assert event["type"] == name_line[len("event: ") :]
        events.append(event)
    return events


def sdk_replay(events: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Any:
    """The events through the SDK: strict validation of each, then its stream accumulator.
    Answers the SDK's parsed final response for a completed stream, else the validated
    terminal ``Response``."""
    body = b"".join(sse(event) for event in events)
    state = ResponseStreamState(input_tools=tools if tools is not None else omit, text_format=omit)
    for raw in parse_sse(body):
        event = _EVENT_ADAPTER.validate_python(raw)
        state.handle_event(event)
    if events[-1]["type"] == "response.completed":
        return state._completed_response
    return Response.model_validate(events[-1]["response"])


def flat_names() -> FlatToolNames:
    """The namespace tool of ``TOOLS`` as the request side flattens it."""
    names = FlatToolNames()
    names.flatten("multi_agent_v1", "spawn_agent")
    return names


def run(stream: Any, inputs: list[dict[str, Any]], *, end: bool = True) -> list[dict[str, Any]]:
    """Every event a stream translation writes for ``inputs`` (and its ``finish()``)."""
    events: list[dict[str, Any]] = []
    for upstream in inputs:
        events.extend(stream.feed(upstream))
    return events + (stream.finish() if end else [])
