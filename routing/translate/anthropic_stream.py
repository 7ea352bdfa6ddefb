"""OpenAI chat-completion chunks → Anthropic stream events: a state machine. Pure.

The event grammar it guarantees, whatever the chunks:
``message_start (content_block_start delta* content_block_stop)* message_delta message_stop``
with block indexes 0, 1, 2, … and exactly one block open at a time. Text, reasoning and
tool-call fragments are emitted as they arrive; usage (which OpenAI sends in a trailing
chunk, possibly after the finish reason) goes into ``message_delta`` at the end.
"""

from typing import Any

from routing.translate.anthropic_response import (
    anthropic_usage,
    as_object,
    new_message_id,
    new_tool_use_id,
    reasoning_text,
    stop_reason,
)
from routing.translate.tool_names import ToolNameMap

Json = dict[str, Any]
Event = tuple[str, Json]


class OpenAIToAnthropicStream:
    def __init__(
        self,
        *,
        client_model: str,
        tool_names: ToolNameMap,
        message_id: str | None = None,
        input_tokens_hint: int = 0,
    ) -> None:
        self.client_model = client_model
        self.tool_names = tool_names
        self.message_id = message_id
        self.input_tokens_hint = input_tokens_hint
        self.started = False
        self.finished = False
        self.block_index = -1
        self.open_block: str | None = None  # "text" | "thinking" | "tool_use"
        self.open_tool_index: object = None
        self.open_tool_id: str | None = None
        self.finish_reason: str | None = None
        self.matched_stop: str | None = None
        self.usage: Json | None = None
        self.saw_tool_use = False

    def _start(self, chunk_id: object) -> list[Event]:
        if self.started:
            return []
        self.started = True
        self.message_id = self.message_id or new_message_id(chunk_id)
        message: Json = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.client_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens_hint, "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _close_block(self) -> list[Event]:
        if self.open_block is None:
            return []
        self.open_block, self.open_tool_index, self.open_tool_id = None, None, None
        return [("content_block_stop", {"type": "content_block_stop", "index": self.block_index})]

    def _open_block(self, kind: str, block: Json) -> list[Event]:
        events = self._close_block()
        self.block_index += 1
        self.open_block = kind
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": self.block_index, "content_block": block},
            )
        )
        return events

    def _delta(self, delta: Json) -> Event:
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": self.block_index, "delta": delta},
        )

    def _thinking(self, text: str) -> list[Event]:
        events = (
            []
            if self.open_block == "thinking"
            else self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        )
        events.append(self._delta({"type": "thinking_delta", "thinking": text}))
        return events

    def _text(self, text: str) -> list[Event]:
        events = [] if self.open_block == "text" else self._open_block("text", {"type": "text", "text": ""})
        events.append(self._delta({"type": "text_delta", "text": text}))
        return events

    def _starts_new_call(self, index: object, call_id: object) -> bool:
        if self.open_block != "tool_use" or self.open_tool_index != index:
            return True
        # Some providers (Gemini's compatible API) send parallel calls all at index 0.
        return isinstance(call_id, str) and bool(call_id) and call_id != self.open_tool_id

    def _tool_call(self, call: Json) -> list[Event]:
        index = call.get("index", 0)
        function = as_object(call.get("function"))
        name, call_id = function.get("name"), call.get("id")
        events: list[Event] = []
        if self._starts_new_call(index, call_id):
            if not isinstance(name, str) or not name:
                return []  # a fragment of a call whose start never came: nothing sound to emit
            block: Json = {
                "type": "tool_use",
                "id": call_id if isinstance(call_id, str) and call_id else new_tool_use_id(),
                "name": self.tool_names.to_client(name),
                "input": {},
            }
            events = self._open_block("tool_use", block)
            self.open_tool_index, self.open_tool_id = index, block["id"]
            self.saw_tool_use = True
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            events.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return events

    def feed(self, chunk: Json) -> list[Event]:
        if self.finished or not isinstance(chunk, dict):
            return []
        events = self._start(chunk.get("id"))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return events
        choice = choices[0]
        delta = as_object(choice.get("delta"))
        thinking = reasoning_text(delta)
        if thinking:
            events += self._thinking(thinking)
        if isinstance(delta.get("content"), str) and delta["content"]:
            events += self._text(delta["content"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                events += self._tool_call(call)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
            matched = choice.get("stop_reason") or choice.get("matched_stop")
            self.matched_stop = matched if isinstance(matched, str) else None
        return events

    def finish(self) -> list[Event]:
        if self.finished:
            return []
        events = self._start(None)
        events += self._close_block()
        self.finished = True
        reason, sequence = stop_reason(self.finish_reason, self.matched_stop)
        if self.saw_tool_use and reason == "end_turn":
            reason = "tool_use"
        usage = anthropic_usage(self.usage)
        if not usage["input_tokens"] and self.input_tokens_hint:
            usage["input_tokens"] = self.input_tokens_hint
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": reason, "stop_sequence": sequence},
                    "usage": usage,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def error_event(self, error_type: str, message: str) -> Event:
        return ("error", {"type": "error", "error": {"type": error_type, "message": message}})
