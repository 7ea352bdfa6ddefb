"""Chat Completions answers → Responses answers (a whole response, or its events). Pure.

A chunk's ``delta`` becomes items in the order its parts arrive:

- reasoning (``reasoning_content``/``reasoning`` text from DeepSeek, vLLM…; or
  OpenRouter's ``reasoning_details`` entries, whose fragments are merged as
  ``reasoning_details`` does) → one ``reasoning`` item whose summary is the text and
  whose ``encrypted_content`` carries what the provider needs back on the next turn:
  ``{"reasoning_details": entries}`` when there were entries, else
  ``{"reasoning_content": text}``. When a delta has both, the entries are the source
  (OpenRouter repeats their text in ``reasoning``);
- ``content`` → a ``message`` item with one ``output_text`` part;
- ``tool_calls`` (keyed by ``index``; the first fragment carries ``id`` and ``name``,
  ``arguments`` arrive in fragments) → one ``function_call`` item per index. The call
  id is kept as the ``call_id`` unchanged (Gemini's thought signatures travel in it);
  the name is given back as the client declared it: provider-sanitized names via the
  ``ToolNameMap``, then flattened namespace names via ``FlatToolNames``.

Reasoning and text close when the other begins; tool calls stay open until the end,
since a provider may interleave the fragments of parallel calls.

The end: ``finish_reason`` ``length`` → ``response.incomplete`` (``max_output_tokens``),
``content_filter`` → incomplete (``content_filter``), anything else → completed. The
usage chunk (empty ``choices``) that follows the finish chunk goes into the terminal
response, so the terminal event is written by ``finish()``, called when the upstream
stream has ended. A stream that ended without any ``finish_reason`` was cut off: that
is ``response.failed``, not a complete answer (Codex then retries, as it does for a
dropped connection).
"""

import uuid

from routing.translation.openai_fields import first_choice, reasoning_text
from routing.translation.reasoning_details import continues, merged, reasoning_details, visible_text
from routing.translation.responses_events import (
    INCOMPLETE_CONTENT_FILTER,
    INCOMPLETE_MAX_TOKENS,
    ResponsesEventWriter,
    usage_from_chat,
)
from routing.translation.responses_output import (
    CUT_OFF_MESSAGE,
    UPSTREAM_ERROR_MESSAGE,
    UpstreamToResponses,
    text_or_empty,
)
from routing.translation.responses_reasoning import encode_reasoning
from routing.translation.responses_tools import FlatToolNames
from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap

_INCOMPLETE_FINISH = {"length": INCOMPLETE_MAX_TOKENS, "content_filter": INCOMPLETE_CONTENT_FILTER}


class ChatToResponsesStream(UpstreamToResponses):
    """Feed Chat Completions chunks (parsed ``data:`` payloads) in order; each call returns
    the Responses events to send. ``finish()`` when the upstream stream ends, ``fail()``
    when it breaks. ``usage`` is the Responses usage seen so far (None until reported)."""

    def _init_state(self) -> None:
        self._reasoning_index: int | None = None
        self._reasoning_text: list[str] = []
        self._reasoning_entries: list[JSONObject] = []
        self._message_index: int | None = None
        self._calls: dict[int, int] = {}  # upstream tool call index -> output_index
        self._call_ids: dict[int, str] = {}  # upstream tool call index -> the id it came with
        self._pending_arguments: dict[int, list[str]] = {}  # fragments before the name came
        self._finish_reason: str | None = None
        self.usage: JSONObject | None = None

    def feed(self, chunk: JSONObject) -> list[JSONObject]:
        if self._output.finished or not isinstance(chunk, dict):
            return []
        events = self._output.start()
        if isinstance(chunk.get("usage"), dict):
            self.usage = usage_from_chat(chunk["usage"])
        error = chunk.get("error")
        if isinstance(error, dict):  # OpenRouter and others report a failure mid-stream this way
            return events + self.fail(text_or_empty(error.get("message")) or UPSTREAM_ERROR_MESSAGE)
        choice = first_choice(chunk)
        if choice is None:
            return events
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        events.extend(self._reasoning(delta))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.extend(self._text(content))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                events.extend(self._call_fragment(call))
        if isinstance(choice.get("finish_reason"), str):
            self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[JSONObject]:
        if self._output.finished:
            return []
        if self._finish_reason is None:
            return self.fail(CUT_OFF_MESSAGE)
        events = self._open_pending_calls() + self._close_reasoning()
        incomplete = _INCOMPLETE_FINISH.get(self._finish_reason)
        return events + self._output.finish(usage=self.usage, incomplete_reason=incomplete)

    def fail(self, message: str) -> list[JSONObject]:
        if self._output.finished:
            return []
        events = self._close_reasoning(status="incomplete")
        return events + self._output.fail(message, usage=self.usage)

    # -- reasoning ----------------------------------------------------------------------

    def _reasoning(self, delta: JSONObject) -> list[JSONObject]:
        entries = reasoning_details(delta)
        text = "".join(visible_text(entry) for entry in entries) if entries else reasoning_text(delta)
        if not entries and not text:
            return []
        events: list[JSONObject] = []
        if self._reasoning_index is None:
            events.extend(self._output.close_kinds("message"))
            self._message_index = None
            self._reasoning_index, opened = self._output.open_reasoning()
            events.extend(opened)
        for entry in entries:
            if self._reasoning_entries and continues(self._reasoning_entries[-1], entry):
                self._reasoning_entries[-1] = merged(self._reasoning_entries[-1], entry)
            else:
                self._reasoning_entries.append(dict(entry))
        self._reasoning_text.append(text)
        return events + self._output.add_text(self._reasoning_index, text)

    def _close_reasoning(self, status: str = "completed") -> list[JSONObject]:
        if self._reasoning_index is None:
            return []
        state: JSONObject = (
            {"reasoning_details": self._reasoning_entries}
            if self._reasoning_entries
            else {"reasoning_content": "".join(self._reasoning_text)}
        )
        events = self._output.close(
            self._reasoning_index, status=status, encrypted_content=encode_reasoning(state)
        )
        self._reasoning_index = None
        self._reasoning_text = []
        self._reasoning_entries = []
        return events

    # -- text and tool calls ------------------------------------------------------------

    def _text(self, content: str) -> list[JSONObject]:
        events = self._close_reasoning()
        if self._message_index is None or not self._output.is_open(self._message_index):
            self._message_index, opened = self._output.open_message()
            events.extend(opened)
        return events + self._output.add_text(self._message_index, content)

    def _call_fragment(self, call: JSONObject) -> list[JSONObject]:
        position = call.get("index", 0)
        position = position if isinstance(position, int) and not isinstance(position, bool) else 0
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        arguments = text_or_empty(function.get("arguments"))
        call_id = text_or_empty(call.get("id"))
        known_id = self._call_ids.get(position)
        if known_id and call_id and call_id != known_id:
            # Another id at an index already used (some providers send every call whole at
            # index 0): more of the call that came with this id, or a new call.
            found = [known for known, upstream_id in self._call_ids.items() if upstream_id == call_id]
            position = found[0] if found else -1 - len(self._calls)
        if position in self._calls:
            return self._output.add_text(self._calls[position], arguments)
        self._pending_arguments.setdefault(position, []).append(arguments)
        self._call_ids.setdefault(position, call_id)
        name = text_or_empty(function.get("name"))
        if not name:
            return []  # the name has not come yet: keep the fragment until it does
        return self._start_call(position, self._call_ids[position] or call_id, name)

    def _start_call(self, position: int, call_id: str, name: str) -> list[JSONObject]:
        events = self._close_reasoning() + self._output.close_kinds("message")
        self._message_index = None
        output_index, opened = self._open_call(call_id or f"call_{uuid.uuid4().hex[:24]}", name)
        self._calls[position] = output_index
        self._call_ids[position] = call_id  # the id as the upstream sent it (none: none)
        events.extend(opened)
        return events + self._output.add_text(output_index, "".join(self._pending_arguments.pop(position)))

    def _open_pending_calls(self) -> list[JSONObject]:
        """Calls whose name never came are still calls the model made: give them a name
        the client will reject rather than drop them silently."""
        events: list[JSONObject] = []
        for position in sorted(self._pending_arguments):
            events.extend(self._start_call(position, self._call_ids.get(position, ""), "unknown_function"))
        return events


def _as_chunk(completion: JSONObject) -> JSONObject:
    """A whole completion as the one chunk that would have streamed it."""
    choice = first_choice(completion) or {}
    message = choice.get("message")
    delta = dict(message) if isinstance(message, dict) else {}
    calls = delta.get("tool_calls")
    if isinstance(calls, list):
        delta["tool_calls"] = [
            {**call, "index": position} for position, call in enumerate(calls) if isinstance(call, dict)
        ]
    return {
        "choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason") or "stop"}],
        "usage": completion.get("usage"),
    }


def chat_to_responses_response(
    completion: JSONObject,
    *,
    writer: ResponsesEventWriter,
    tool_names: FlatToolNames,
    upstream_names: ToolNameMap | None = None,
) -> JSONObject:
    """A whole Chat completion → the whole Responses object (status completed or incomplete).

    Built by the stream translation from the one chunk the completion amounts to, so
    both answers are made by the same code."""
    stream = ChatToResponsesStream(writer=writer, tool_names=tool_names, upstream_names=upstream_names)
    stream.feed(_as_chunk(completion))
    response: JSONObject = stream.finish()[-1]["response"]
    return response
