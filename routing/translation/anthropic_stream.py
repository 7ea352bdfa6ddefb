"""OpenAI chat-completion chunks → Anthropic Messages stream events (a pure state machine).

The output always follows the Anthropic grammar: ``message_start``; content blocks
numbered 0, 1, 2… with exactly one open at a time (``content_block_start``, deltas,
``content_block_stop``); one ``message_delta``; ``message_stop``. Each chunk is
translated as it arrives; tool-call argument fragments are forwarded, never collected.
The one wait: an OpenRouter ``reasoning.encrypted`` entry becomes a ``redacted_thinking``
block, which has no deltas, so it starts (whole) when the next thing arrives.

Usage arrives in a chunk with empty ``choices`` (``stream_options.include_usage``),
possibly after the chunk carrying ``finish_reason``; so the stop reason and the final
usage are only emitted by ``finish()``, when the upstream stream has ended.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from routing.translation.openai_fields import (
    accounted_usage,
    anthropic_stop_reason,
    anthropic_usage,
    first_choice,
    matched_stop_sequence,
    message_id,
    reasoning_text,
    tool_use_id,
)
from routing.translation.provider_state import (
    PLAIN_OPENAI,
    ProviderQuirks,
    thought_signature,
    tool_id_with_signature,
)
from routing.translation.reasoning_details import (
    continues,
    detail_block,
    merged,
    reasoning_details,
    visible_field,
    visible_text,
)
from routing.translation.tool_names import ToolNameMap

StreamEvent = tuple[str, dict[str, Any]]
ToolKey = int | str


@dataclass
class _OpenBlock:
    index: int
    kind: str  # "thinking" | "text" | "tool_use" | "detail" (an OpenRouter reasoning entry)
    tool_key: ToolKey | None = None
    upstream_id: str | None = None
    detail: dict[str, Any] | None = None  # the entry so far, for "detail"
    position: int = 0  # the entry's place in the answer's reasoning_details


def _event(name: str, **fields: Any) -> StreamEvent:
    return name, {"type": name, **fields}


def _nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class OpenAIToAnthropicStream:
    """Feed parsed OpenAI chunks in order, then call ``finish()`` once the stream ends."""

    def __init__(
        self,
        *,
        client_model: str,
        tool_names: ToolNameMap,
        message_id: str | None = None,
        input_tokens_hint: int = 0,
        stop_sequences: Sequence[str] | None = None,
        quirks: ProviderQuirks = PLAIN_OPENAI,
    ) -> None:
        self._client_model = client_model
        self._quirks = quirks
        self._details_seen = 0
        self._tool_names = tool_names
        self._message_id = message_id
        self._input_tokens_hint = input_tokens_hint
        self._stop_sequences = stop_sequences
        self._started = False
        self._finished = False
        self._next_index = 0
        self._open: _OpenBlock | None = None
        self._closed_tool_keys: set[ToolKey] = set()
        self._has_tool_use = False
        self._refused = False
        self._finish_reason: str | None = None
        self._matched_stop: str | None = None
        self._usage: dict[str, Any] | None = None

    # -- public API -------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """The events for one upstream chunk (the first call also yields ``message_start``)."""
        if self._finished:
            return []
        payload: dict[str, Any] = chunk if isinstance(chunk, dict) else {}
        if isinstance(payload.get("usage"), dict):
            self._usage = payload["usage"]
        events = [] if self._started else [self._message_start(payload.get("id"))]
        choice = first_choice(payload)
        if choice is not None:
            events.extend(self._choice_events(choice))
        return events

    @property
    def accounted_usage(self) -> dict[str, int] | None:
        """The upstream's usage as calls are accounted (cache writes, reasoning), or None
        before its usage chunk; the client's events carry ``anthropic_usage`` only."""
        return accounted_usage(self._usage) if self._usage is not None else None

    def finish(self) -> list[StreamEvent]:
        """Close the open block and end the message; later calls return nothing."""
        if self._finished:
            return []
        events = [] if self._started else [self._message_start(None)]
        self._finished = True
        events.extend(self._close_block())
        stop_reason = anthropic_stop_reason(
            "content_filter" if self._refused else self._finish_reason,
            has_tool_use=self._has_tool_use,
            matched_stop=self._matched_stop,
        )
        stop_sequence = self._matched_stop if stop_reason == "stop_sequence" else None
        # Without a usage chunk the counts are unknown: output_tokens is required, so 0.
        usage = anthropic_usage(self._usage) if self._usage is not None else {"output_tokens": 0}
        events.append(
            _event(
                "message_delta",
                delta={"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                usage=usage,
            )
        )
        events.append(_event("message_stop"))
        return events

    def error_event(self, error_type: str, message: str) -> StreamEvent:
        """An ``error`` event for a failure after the stream started; it ends the stream."""
        self._finished = True
        return _event("error", error={"type": error_type, "message": message})

    # -- message and blocks -------------------------------------------------------------

    def _message_start(self, upstream_id: Any) -> StreamEvent:
        self._started = True
        input_tokens = self._input_tokens_hint
        if self._usage is not None and isinstance(self._usage.get("prompt_tokens"), int):
            input_tokens = anthropic_usage(self._usage)["input_tokens"]
        message: dict[str, Any] = {
            "id": self._message_id or message_id(upstream_id),
            "type": "message",
            "role": "assistant",
            "model": self._client_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 0},
        }
        return _event("message_start", message=message)

    def _open_block(self, block: _OpenBlock, content_block: dict[str, Any] | None) -> list[StreamEvent]:
        """Close the open block and open ``block``; without ``content_block`` its start
        waits for its close (a redacted_thinking block is all there is at its start)."""
        events = self._close_block()
        self._open = block
        self._next_index += 1
        if content_block is None:
            return events
        return [*events, _event("content_block_start", index=block.index, content_block=content_block)]

    def _close_block(self) -> list[StreamEvent]:
        block = self._open
        if block is None:
            return []
        self._open = None
        events = []
        if block.kind == "thinking":
            # Anthropic ends every thinking block with its signature; there is none here.
            events.append(
                _event(
                    "content_block_delta",
                    index=block.index,
                    delta={"type": "signature_delta", "signature": ""},
                )
            )
        if block.detail is not None:
            events.extend(self._detail_close(block.index, detail_block(block.detail, block.position)))
        if block.tool_key is not None:
            self._closed_tool_keys.add(block.tool_key)
        events.append(_event("content_block_stop", index=block.index))
        return events

    @staticmethod
    def _detail_close(index: int, block: dict[str, Any]) -> list[StreamEvent]:
        """A thinking block gets the entry as its signature; a redacted one starts now, whole."""
        if block["type"] == "thinking":
            delta = {"type": "signature_delta", "signature": block["signature"]}
            return [_event("content_block_delta", index=index, delta=delta)]
        return [_event("content_block_start", index=index, content_block=block)]

    def _detail_fragment(self, fragment: dict[str, Any]) -> list[StreamEvent]:
        """One streamed reasoning_details fragment: more of the open entry, or the next one."""
        block = self._open
        text = visible_text(fragment)
        if block is not None and block.detail is not None and continues(block.detail, fragment):
            block.detail = merged(block.detail, fragment)
            events: list[StreamEvent] = []
        else:
            block = _OpenBlock(self._next_index, "detail", detail=dict(fragment), position=self._details_seen)
            self._details_seen += 1
            visible = visible_field(fragment) is not None
            start = {"type": "thinking", "thinking": "", "signature": ""} if visible else None
            events = self._open_block(block, start)
        if text:
            delta = {"type": "thinking_delta", "thinking": text}
            events.append(_event("content_block_delta", index=block.index, delta=delta))
        return events

    def _reasoning_events(self, delta: dict[str, Any]) -> list[StreamEvent]:
        details = reasoning_details(delta) if self._quirks.reasoning_details else []
        if details:  # OpenRouter: the entries, not ``reasoning`` (which repeats their text)
            return [event for fragment in details for event in self._detail_fragment(fragment)]
        reasoning = reasoning_text(delta)
        if not reasoning:
            return []
        return self._delta("thinking", {"type": "thinking_delta", "thinking": reasoning})

    def _delta(self, kind: str, delta: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open is None or self._open.kind != kind:
            content_block: dict[str, Any] = (
                {"type": "thinking", "thinking": "", "signature": ""}
                if kind == "thinking"
                else {"type": "text", "text": ""}
            )
            events = self._open_block(_OpenBlock(self._next_index, kind), content_block)
        assert self._open is not None  # noqa: S101 - opened just above
        events.append(_event("content_block_delta", index=self._open.index, delta=delta))
        return events

    # -- chunk contents -----------------------------------------------------------------

    def _choice_events(self, choice: dict[str, Any]) -> list[StreamEvent]:
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        events = self._reasoning_events(delta)
        for key in ("content", "refusal"):
            text = _nonempty_str(delta.get(key))
            if text is not None:
                self._refused = self._refused or key == "refusal"
                events.extend(self._delta("text", {"type": "text_delta", "text": text}))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                events.extend(self._tool_call_delta(call))
        if isinstance(delta.get("function_call"), dict):  # the pre-tools streaming shape
            events.extend(
                self._tool_call_delta({"index": "function_call", "function": delta["function_call"]})
            )
        self._note_finish(choice)
        return events

    def _note_finish(self, choice: dict[str, Any]) -> None:
        finish_reason = _nonempty_str(choice.get("finish_reason"))
        if finish_reason is not None:
            self._finish_reason = finish_reason
        matched = matched_stop_sequence(choice, self._stop_sequences)
        if matched is not None:
            self._matched_stop = matched

    def _tool_key(self, call: dict[str, Any]) -> ToolKey:
        index = call.get("index")
        if isinstance(index, int | str) and not isinstance(index, bool):
            return index
        call_id = _nonempty_str(call.get("id"))
        if call_id is not None:
            return call_id
        open_block = self._open
        if open_block is not None and open_block.tool_key is not None:
            return open_block.tool_key  # an index-less continuation of the open call
        return len(self._closed_tool_keys)

    def _tool_call_delta(self, call: dict[str, Any]) -> list[StreamEvent]:
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        key = self._tool_key(call)
        call_id = _nonempty_str(call.get("id"))
        open_block = self._open
        continues_open = (
            open_block is not None
            and open_block.tool_key == key
            and (call_id is None or call_id == open_block.upstream_id)
        )
        events: list[StreamEvent] = []
        if not continues_open:
            if call_id is None and key in self._closed_tool_keys:
                # A fragment for a call whose block is already closed (the upstream went
                # back to an earlier call, which OpenAI never does): a closed block cannot
                # be reopened, so the fragment is dropped.
                return []
            events = self._start_tool_block(key, call_id, function.get("name"), thought_signature(call))
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments, ensure_ascii=False)  # some providers send objects
        if isinstance(arguments, str) and arguments:
            assert self._open is not None  # noqa: S101 - a tool block is open here
            events.append(
                _event(
                    "content_block_delta",
                    index=self._open.index,
                    delta={"type": "input_json_delta", "partial_json": arguments},
                )
            )
        return events

    def _start_tool_block(
        self, key: ToolKey, call_id: str | None, name: Any, signature: str | None
    ) -> list[StreamEvent]:
        self._has_tool_use = True
        block = _OpenBlock(self._next_index, "tool_use", tool_key=key, upstream_id=call_id)
        content_block = {
            "type": "tool_use",
            "id": tool_id_with_signature(tool_use_id(call_id), signature),
            "name": self._tool_names.to_client(name) if isinstance(name, str) else "",
            "input": {},
        }
        return self._open_block(block, content_block)
