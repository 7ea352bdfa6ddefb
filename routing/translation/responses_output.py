"""The output items of one Responses answer and the order of their events. Pure.

Both upstream dialects (Chat Completions chunks, Anthropic events) drive this one state
machine, so the event grammar lives in one place:

- ``response.created``, ``response.in_progress`` first (``start``);
- per item ``response.output_item.added`` … ``response.output_item.done``, with in
  between: for a message one ``output_text`` content part (``content_part.added``,
  ``output_text.delta``…, ``output_text.done``, ``content_part.done``); for a function
  call ``function_call_arguments.delta``… and ``.done``; for reasoning, once it has
  text, one summary part (``reasoning_summary_part.added``,
  ``reasoning_summary_text.delta``…, ``.done``, ``reasoning_summary_part.done``);
- exactly one terminal event, last, carrying the whole response: ``finish`` (completed
  or incomplete) or ``fail``. Items still open then are closed first (``incomplete``
  when the answer is not complete), so every item added is done.

Items may be open at the same time (a Chat stream's parallel tool calls are kept open
until the answer ends, since a provider may interleave their fragments); each event
names its item by ``output_index``, the order items were added in.
"""

import json
from dataclasses import dataclass, field

from routing.translation.responses_events import ResponsesEventWriter
from routing.translation.responses_tools import FlatToolNames
from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap

SERVER_ERROR = "server_error"
CUT_OFF_MESSAGE = "The upstream stream ended before the answer was finished."
UPSTREAM_ERROR_MESSAGE = "The upstream answered with an error."


@dataclass(slots=True)
class _OpenItem:
    output_index: int
    item: JSONObject  # as added: the id, the type and the fixed fields
    text: list[str] = field(default_factory=list)  # message text, summary text or arguments
    part_open: bool = False  # the content or summary part has been added


class ResponsesOutput:
    """The items of one answer. Each method returns the events to send, in order."""

    def __init__(self, writer: ResponsesEventWriter) -> None:
        self.writer = writer
        self._items: list[JSONObject | None] = []  # by output_index; None while open
        self._open: dict[int, _OpenItem] = {}
        self.started = False
        self.finished = False

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> list[JSONObject]:
        if self.started:
            return []
        self.started = True
        return self.writer.opening()

    def finish(self, *, usage: JSONObject | None, incomplete_reason: str | None = None) -> list[JSONObject]:
        """Close what is open and end with ``response.completed`` (or ``.incomplete``)."""
        return self._terminate(usage=usage, incomplete_reason=incomplete_reason, error=None)

    def fail(
        self, message: str, *, code: str = SERVER_ERROR, usage: JSONObject | None = None
    ) -> list[JSONObject]:
        """End with ``response.failed``: the upstream broke off or answered an error."""
        return self._terminate(usage=usage, incomplete_reason=None, error={"code": code, "message": message})

    def _terminate(
        self, *, usage: JSONObject | None, incomplete_reason: str | None, error: JSONObject | None
    ) -> list[JSONObject]:
        if self.finished:
            return []
        events = self.start()
        events.extend(
            self.close_all("completed" if error is None and not incomplete_reason else "incomplete")
        )
        self.finished = True
        output = [item for item in self._items if item is not None]
        events.append(
            self.writer.terminal(output=output, usage=usage, incomplete_reason=incomplete_reason, error=error)
        )
        return events

    # -- opening items ------------------------------------------------------------------

    def _add(self, item: JSONObject) -> tuple[int, list[JSONObject]]:
        index = len(self._items)
        self._items.append(None)
        self._open[index] = _OpenItem(index, item)
        events = self.start()
        events.append(self.writer.event("response.output_item.added", output_index=index, item=item))
        return index, events

    def open_message(self) -> tuple[int, list[JSONObject]]:
        item_id = self.writer.item_id("message")
        item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
        index, events = self._add(item)
        events.append(self._part_added(self._open[index], "response.content_part.added", "content_index"))
        return index, events

    def open_reasoning(self) -> tuple[int, list[JSONObject]]:
        item_id = self.writer.item_id("reasoning")
        return self._add({"id": item_id, "type": "reasoning", "summary": []})

    def open_call(self, *, call_id: str, name: str, namespace: str | None) -> tuple[int, list[JSONObject]]:
        item: JSONObject = {
            "id": self.writer.item_id("function_call"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": name,
            "arguments": "",
        }
        if namespace is not None:
            item["namespace"] = namespace
        return self._add(item)

    # -- deltas -------------------------------------------------------------------------

    def is_open(self, index: int) -> bool:
        return index in self._open

    def open_indexes(self) -> list[int]:
        return sorted(self._open)

    def kind(self, index: int) -> str | None:
        open_item = self._open.get(index)
        return open_item.item["type"] if open_item is not None else None

    def add_text(self, index: int, delta: str) -> list[JSONObject]:
        """More message text, summary text or call arguments, by the item's type."""
        open_item = self._open.get(index)
        if open_item is None or not delta:
            return []
        open_item.text.append(delta)
        kind = open_item.item["type"]
        if kind == "function_call":
            return [self._delta("response.function_call_arguments.delta", open_item, delta)]
        if kind == "message":
            return [self._delta("response.output_text.delta", open_item, delta, content_index=0, logprobs=[])]
        events = []
        if not open_item.part_open:
            events.append(
                self._part_added(open_item, "response.reasoning_summary_part.added", "summary_index")
            )
        events.append(self._delta("response.reasoning_summary_text.delta", open_item, delta, summary_index=0))
        return events

    def _part_added(self, open_item: _OpenItem, event_type: str, index_field: str) -> JSONObject:
        """The one content part of a message, or the one summary part of a reasoning item."""
        open_item.part_open = True
        part = _text_part("") if open_item.item["type"] == "message" else _summary_part("")
        fields = {"item_id": open_item.item["id"], "output_index": open_item.output_index, index_field: 0}
        return self.writer.event(event_type, **fields, part=part)

    def _delta(self, event_type: str, open_item: _OpenItem, delta: str, **fields: object) -> JSONObject:
        return self.writer.event(
            event_type,
            item_id=open_item.item["id"],
            output_index=open_item.output_index,
            delta=delta,
            **fields,
        )

    # -- closing items ------------------------------------------------------------------

    def close_all(self, status: str = "completed") -> list[JSONObject]:
        events: list[JSONObject] = []
        for index in self.open_indexes():
            events.extend(self.close(index, status=status))
        return events

    def close_kinds(self, *kinds: str) -> list[JSONObject]:
        """Close the open items of these types (another kind of output has begun)."""
        events: list[JSONObject] = []
        for index in self.open_indexes():
            if self.kind(index) in kinds:
                events.extend(self.close(index))
        return events

    def close(
        self, index: int, *, status: str = "completed", encrypted_content: str | None = None
    ) -> list[JSONObject]:
        """Close one item; a reasoning item carries ``encrypted_content`` in its done event."""
        open_item = self._open.pop(index, None)
        if open_item is None:
            return []
        kind = open_item.item["type"]
        if kind == "function_call":
            events, done = self._close_call(open_item, status)
        elif kind == "message":
            events, done = self._close_message(open_item, status)
        else:
            events, done = self._close_reasoning(open_item, encrypted_content)
        self._items[index] = done
        events.append(self.writer.event("response.output_item.done", output_index=index, item=done))
        return events

    def _close_call(self, open_item: _OpenItem, status: str) -> tuple[list[JSONObject], JSONObject]:
        events: list[JSONObject] = []
        if not open_item.text:  # a call without arguments still needs a JSON object to parse
            open_item.text.append("{}")
            events.append(self._delta("response.function_call_arguments.delta", open_item, "{}"))
        arguments = "".join(open_item.text)
        events.append(
            self.writer.event(
                "response.function_call_arguments.done",
                item_id=open_item.item["id"],
                output_index=open_item.output_index,
                arguments=arguments,
            )
        )
        return events, {**open_item.item, "arguments": arguments, "status": status}

    def _close_message(self, open_item: _OpenItem, status: str) -> tuple[list[JSONObject], JSONObject]:
        text = "".join(open_item.text)
        where = {"item_id": open_item.item["id"], "output_index": open_item.output_index, "content_index": 0}
        events = [
            self.writer.event("response.output_text.done", **where, text=text, logprobs=[]),
            self.writer.event("response.content_part.done", **where, part=_text_part(text)),
        ]
        return events, {**open_item.item, "status": status, "content": [_text_part(text)]}

    def _close_reasoning(
        self, open_item: _OpenItem, encrypted_content: str | None
    ) -> tuple[list[JSONObject], JSONObject]:
        text = "".join(open_item.text)
        events: list[JSONObject] = []
        if open_item.part_open:
            where = {
                "item_id": open_item.item["id"],
                "output_index": open_item.output_index,
                "summary_index": 0,
            }
            events.append(self.writer.event("response.reasoning_summary_text.done", **where, text=text))
            events.append(
                self.writer.event("response.reasoning_summary_part.done", **where, part=_summary_part(text))
            )
        done: JSONObject = {**open_item.item, "summary": [_summary_part(text)] if open_item.part_open else []}
        if encrypted_content is not None:
            done["encrypted_content"] = encrypted_content
        return events, done


def _text_part(text: str) -> JSONObject:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _summary_part(text: str) -> JSONObject:
    return {"type": "summary_text", "text": text}


def call_arguments(value: object) -> str:
    """A complete tool input (an object) as the JSON string a function call carries."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def text_or_empty(value: object) -> str:
    return value if isinstance(value, str) else ""


class UpstreamToResponses:
    """What both stream translations share: the output, and the client's tool names."""

    def __init__(
        self,
        *,
        writer: ResponsesEventWriter,
        tool_names: FlatToolNames,
        upstream_names: ToolNameMap | None = None,
    ) -> None:
        self._output = ResponsesOutput(writer)
        self._tool_names = tool_names
        self._upstream_names = upstream_names or ToolNameMap()
        self._init_state()

    def _init_state(self) -> None:
        """Each translation's own reading state (set here, not in ``__init__``, so the one
        constructor signature serves both)."""

    @property
    def done(self) -> bool:
        """The terminal event has been written."""
        return self._output.finished

    def _open_call(self, call_id: str, upstream_name: str) -> tuple[int, list[JSONObject]]:
        """A function call item named as the client declared the tool: the provider's
        sanitized name mapped back first, then a flattened namespace name restored."""
        namespace, name = self._tool_names.restore(self._upstream_names.to_client(upstream_name))
        return self._output.open_call(call_id=call_id, name=name, namespace=namespace)
