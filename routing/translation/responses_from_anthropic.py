"""Anthropic Messages answers → Responses answers (a whole response, or its events). Pure.

Each content block becomes one output item, opened at ``content_block_start`` and done
at ``content_block_stop`` (deltas are routed by the block ``index`` they name):

- ``thinking`` → a ``reasoning`` item whose summary is the thinking text and whose
  ``encrypted_content`` is the signed block itself (``{"anthropic": {"type":
  "thinking", "thinking", "signature"}}``), so a client that returns its reasoning items
  (Codex, with ``store: false``) gives Anthropic back the signature it requires in a
  tool loop. The signature comes in a ``signature_delta`` at the block's end, which is
  why the item's done event, not its added event, carries it;
- ``redacted_thinking`` → a ``reasoning`` item with no summary and the block as is;
- ``text`` → a ``message`` item with one ``output_text`` part;
- ``tool_use`` → a ``function_call`` item (``call_id`` = the ``toolu_`` id; the name
  as the client declared it); its ``input_json_delta`` fragments are the argument
  deltas, and a block that came with its whole ``input`` and no deltas has that input
  as its arguments;
- server tools (``server_tool_use``, ``web_search_tool_result`` …) are dropped: the
  provider ran them, and a Responses client has no item to receive them.

``stop_reason`` ``max_tokens`` (or a full context window) → ``response.incomplete``
(``max_output_tokens``), ``refusal`` → incomplete (``content_filter``), anything else
→ completed; the terminal event is written at ``message_stop``. Usage is merged from
``message_start`` and ``message_delta``. An ``error`` event → ``response.failed``; a
stream that ends before ``message_stop`` is cut off → ``response.failed`` too.
"""

from dataclasses import dataclass
from typing import Any

from routing.translation.anthropic_fields import merged_usage
from routing.translation.responses_events import (
    INCOMPLETE_CONTENT_FILTER,
    INCOMPLETE_MAX_TOKENS,
    ResponsesEventWriter,
    usage_from_anthropic,
)
from routing.translation.responses_output import (
    CUT_OFF_MESSAGE,
    SERVER_ERROR,
    UPSTREAM_ERROR_MESSAGE,
    UpstreamToResponses,
    call_arguments,
    text_or_empty,
)
from routing.translation.responses_reasoning import encode_reasoning
from routing.translation.responses_tools import FlatToolNames
from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap

_INCOMPLETE_STOP = {
    "max_tokens": INCOMPLETE_MAX_TOKENS,
    "model_context_window_exceeded": INCOMPLETE_MAX_TOKENS,
    "refusal": INCOMPLETE_CONTENT_FILTER,
}
# Anthropic error types → the codes a Responses client knows (Codex retries rate limits).
_ERROR_CODES = {"rate_limit_error": "rate_limit_exceeded", "invalid_request_error": "invalid_prompt"}
_DELTA_TEXT = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


@dataclass(slots=True)
class _Block:
    output_index: int
    block: JSONObject  # the start block; thinking text and signature are filled in as they come
    whole_input: str | None = None  # a tool_use's complete ``input``, if it came in the start
    had_deltas: bool = False


class AnthropicToResponsesStream(UpstreamToResponses):
    """Feed Anthropic stream events (parsed ``data:`` payloads, each with its ``type``) in
    order; each call returns the Responses events to send. ``finish()`` when the upstream
    stream ends, ``fail()`` when it breaks. ``usage`` is the Anthropic usage seen so far."""

    def _init_state(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._stop_reason: str | None = None
        self.usage: JSONObject = {}

    def feed(self, event: JSONObject) -> list[JSONObject]:
        if self._output.finished or not isinstance(event, dict):
            return []
        kind = event.get("type")
        if kind == "error":
            error = event.get("error")
            return self._fail_with(error if isinstance(error, dict) else {})
        events = self._output.start()
        if kind == "message_start":
            message = event.get("message")
            self.usage = merged_usage(self.usage, message.get("usage") if isinstance(message, dict) else None)
        elif kind == "content_block_start":
            events.extend(self._block_start(event))
        elif kind == "content_block_delta":
            events.extend(self._block_delta(event))
        elif kind == "content_block_stop":
            events.extend(self._block_stop(event.get("index")))
        elif kind == "message_delta":
            self.usage = merged_usage(self.usage, event.get("usage"))
            delta = event.get("delta")
            stop = delta.get("stop_reason") if isinstance(delta, dict) else None
            self._stop_reason = stop if isinstance(stop, str) else self._stop_reason
        elif kind == "message_stop":
            events.extend(self._end())
        return events

    def finish(self) -> list[JSONObject]:
        """The upstream stream ended: nothing more if ``message_stop`` came, else a failure."""
        return [] if self._output.finished else self.fail(CUT_OFF_MESSAGE)

    def fail(self, message: str, *, code: str = SERVER_ERROR) -> list[JSONObject]:
        if self._output.finished:
            return []
        events: list[JSONObject] = []
        for index in sorted(self._blocks):
            events.extend(self._block_stop(index, status="incomplete"))
        return events + self._output.fail(message, code=code, usage=usage_from_anthropic(self.usage))

    def _fail_with(self, error: JSONObject) -> list[JSONObject]:
        message = text_or_empty(error.get("message")) or UPSTREAM_ERROR_MESSAGE
        return self.fail(message, code=_ERROR_CODES.get(text_or_empty(error.get("type")), SERVER_ERROR))

    def _end(self) -> list[JSONObject]:
        incomplete = _INCOMPLETE_STOP.get(self._stop_reason or "")
        status = "incomplete" if incomplete else "completed"
        events: list[JSONObject] = []
        for index in sorted(self._blocks):
            events.extend(self._block_stop(index, status=status))
        return events + self._output.finish(
            usage=usage_from_anthropic(self.usage), incomplete_reason=incomplete
        )

    # -- blocks -------------------------------------------------------------------------

    def _block_start(self, event: JSONObject) -> list[JSONObject]:
        index, block = event.get("index"), event.get("content_block")
        if not isinstance(index, int) or not isinstance(block, dict) or index in self._blocks:
            return []
        kind = block.get("type")
        if kind == "text":
            output_index, events = self._output.open_message()
            self._blocks[index] = _Block(output_index, {"type": "text"})
            return events + self._output.add_text(output_index, text_or_empty(block.get("text")))
        if kind in ("thinking", "redacted_thinking"):
            output_index, events = self._output.open_reasoning()
            kept = (
                dict(block)
                if kind == "redacted_thinking"
                else {"type": "thinking", "thinking": "", "signature": ""}
            )
            self._blocks[index] = _Block(output_index, kept)
            if kind == "thinking":
                events.extend(self._thinking(self._blocks[index], text_or_empty(block.get("thinking"))))
                kept["signature"] = text_or_empty(block.get("signature"))
            return events
        if kind == "tool_use":
            return self._tool_use_start(index, block)
        return []  # server tools and their results, and types still to come

    def _tool_use_start(self, index: int, block: JSONObject) -> list[JSONObject]:
        output_index, events = self._open_call(
            text_or_empty(block.get("id")), text_or_empty(block.get("name"))
        )
        whole = block.get("input")
        self._blocks[index] = _Block(
            output_index, {"type": "tool_use"}, whole_input=call_arguments(whole) if whole else None
        )
        return events

    def _thinking(self, state: _Block, text: str) -> list[JSONObject]:
        state.block["thinking"] += text
        return self._output.add_text(state.output_index, text)

    def _block_delta(self, event: JSONObject) -> list[JSONObject]:
        index, delta = event.get("index"), event.get("delta")
        state = self._blocks.get(index) if isinstance(index, int) else None
        if state is None or not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "signature_delta" and state.block["type"] == "thinking":
            state.block["signature"] += text_or_empty(delta.get("signature"))
            return []
        text = text_or_empty(delta.get(_DELTA_TEXT.get(text_or_empty(kind), "")))
        if kind == "thinking_delta" and state.block["type"] == "thinking":
            return self._thinking(state, text)
        if (kind, state.block["type"]) in (("text_delta", "text"), ("input_json_delta", "tool_use")):
            state.had_deltas = state.had_deltas or bool(text)
            return self._output.add_text(state.output_index, text)
        return []

    def _block_stop(self, index: Any, *, status: str = "completed") -> list[JSONObject]:
        state = self._blocks.pop(index, None) if isinstance(index, int) else None
        if state is None:
            return []
        events: list[JSONObject] = []
        encrypted = None
        if state.block["type"] in ("thinking", "redacted_thinking"):
            encrypted = encode_reasoning({"anthropic": state.block})
        elif state.whole_input is not None and not state.had_deltas:
            events.extend(self._output.add_text(state.output_index, state.whole_input))
        return events + self._output.close(state.output_index, status=status, encrypted_content=encrypted)


def _as_events(message: JSONObject) -> list[JSONObject]:
    """A whole message as the stream that would have carried it (each block whole in its
    start event)."""
    content = message.get("content")
    blocks = [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []
    events: list[JSONObject] = [{"type": "message_start", "message": {"usage": message.get("usage")}}]
    for index, block in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason")}})
    events.append({"type": "message_stop"})
    return events


def anthropic_to_responses_response(
    message: JSONObject,
    *,
    writer: ResponsesEventWriter,
    tool_names: FlatToolNames,
    upstream_names: ToolNameMap | None = None,
) -> JSONObject:
    """A whole Anthropic message → the whole Responses object (status completed or
    incomplete), made by the stream translation from the events the message amounts to."""
    stream = AnthropicToResponsesStream(writer=writer, tool_names=tool_names, upstream_names=upstream_names)
    events: list[JSONObject] = []
    for event in _as_events(message):
        events.extend(stream.feed(event))
    response: JSONObject = events[-1]["response"]
    return response
