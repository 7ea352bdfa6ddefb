"""Anthropic Messages stream events → OpenAI ``chat.completion.chunk``s (a pure state machine).

The output follows OpenAI's grammar: a first chunk with ``role``; ``content``,
``reasoning_content`` and ``tool_calls`` deltas as the events arrive (each tool call
numbered by ``index`` 0, 1, … with its ``id``, ``type`` and ``name`` in its first
delta and its ``arguments`` as fragments after); one chunk with ``finish_reason``; with
``include_usage``, a last chunk with empty ``choices`` and the usage (every other chunk
then carries ``usage: null``, as OpenAI's do). The ``data: [DONE]`` line is the relay's.

Anthropic's own order is relied on only as far as it must be: deltas are routed by the
block ``index`` they name, and events for blocks the OpenAI side has no place for
(redacted thinking, server tools and their results) are dropped.
"""

from dataclasses import dataclass
from typing import Any

from routing.translation.anthropic_fields import completion_id, finish_reason, merged_usage, openai_usage
from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap


@dataclass(slots=True)
class _Block:
    kind: str  # "text" | "thinking" | "tool_use" | "ignored"
    tool_index: int | None = None


def _nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class AnthropicToOpenAIStream:
    """Feed Anthropic events in order (name and parsed data); each call returns the chunks
    to send. ``done`` turns true at ``message_stop``; ``usage`` is the usage seen so far,
    in Anthropic's shape (for accounting)."""

    def __init__(
        self, *, client_model: str, tool_names: ToolNameMap, created: int, include_usage: bool
    ) -> None:
        self._client_model = client_model
        self._tool_names = tool_names
        self._created = created
        self._include_usage = include_usage
        self._id: str | None = None
        self._blocks: dict[int, _Block] = {}
        self._tool_count = 0
        self._finished = False
        self.done = False
        self.usage: JSONObject = {}

    # -- public API -------------------------------------------------------------------

    def feed(self, event: str, data: Any) -> list[JSONObject]:
        if self.done or event == "ping":
            return []
        payload: JSONObject = data if isinstance(data, dict) else {}
        message = payload.get("message") if event == "message_start" else None
        message = message if isinstance(message, dict) else {}
        self.usage = merged_usage(self.usage, message.get("usage"))
        chunks = [self._role_chunk(message.get("id"))] if self._id is None else []
        if event == "content_block_start":
            chunks.extend(self._block_start(payload))
        elif event == "content_block_delta":
            chunks.extend(self._block_delta(payload))
        elif event == "message_delta":
            chunks.extend(self._message_delta(payload))
        elif event == "message_stop":
            chunks.extend(self._message_stop())
        return chunks

    # -- chunks -------------------------------------------------------------------------

    def _chunk(self, delta: JSONObject, finish: str | None = None) -> JSONObject:
        chunk: JSONObject = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._client_model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _role_chunk(self, upstream_id: Any) -> JSONObject:
        self._id = completion_id(upstream_id)
        return self._chunk({"role": "assistant", "content": ""})

    # -- events -------------------------------------------------------------------------

    def _block_start(self, payload: JSONObject) -> list[JSONObject]:
        block = payload.get("content_block")
        block = block if isinstance(block, dict) else {}
        index = payload.get("index")
        kind = block.get("type")
        if not isinstance(index, int) or kind not in ("text", "thinking", "tool_use"):
            if isinstance(index, int):
                self._blocks[index] = _Block("ignored")
            return []
        if kind == "tool_use":
            return [self._tool_start(index, block)]
        self._blocks[index] = _Block(kind)
        text = _nonempty_str(block.get(kind))
        return [self._text_chunk(kind, text)] if text else []

    def _tool_start(self, index: int, block: JSONObject) -> JSONObject:
        tool_index = self._tool_count
        self._tool_count += 1
        self._blocks[index] = _Block("tool_use", tool_index)
        name = block.get("name")
        call = {
            "index": tool_index,
            "id": block.get("id") if isinstance(block.get("id"), str) else "",
            "type": "function",
            "function": {
                "name": self._tool_names.to_client(name) if isinstance(name, str) else "",
                "arguments": "",
            },
        }
        return self._chunk({"tool_calls": [call]})

    def _text_chunk(self, kind: str, text: str) -> JSONObject:
        return self._chunk({"content": text} if kind == "text" else {"reasoning_content": text})

    def _block_delta(self, payload: JSONObject) -> list[JSONObject]:
        index = payload.get("index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        delta = payload.get("delta")
        if block is None or not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if block.kind == "text" and kind == "text_delta":
            text = _nonempty_str(delta.get("text"))
        elif block.kind == "thinking" and kind == "thinking_delta":
            text = _nonempty_str(delta.get("thinking"))
        elif block.kind == "tool_use" and kind == "input_json_delta":
            fragment = _nonempty_str(delta.get("partial_json"))
            if fragment is None:
                return []
            return [
                self._chunk(
                    {"tool_calls": [{"index": block.tool_index, "function": {"arguments": fragment}}]}
                )
            ]
        else:
            return []  # signatures, citations, deltas of dropped blocks
        return [self._text_chunk(block.kind, text)] if text else []

    def _message_delta(self, payload: JSONObject) -> list[JSONObject]:
        self.usage = merged_usage(self.usage, payload.get("usage"))
        if self._finished:
            return []
        self._finished = True
        delta = payload.get("delta")
        stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        return [self._chunk({}, finish_reason(stop_reason))]

    def _message_stop(self) -> list[JSONObject]:
        self.done = True
        chunks = [] if self._finished else [self._chunk({}, "stop")]
        self._finished = True
        if self._include_usage:
            chunks.append({**self._chunk({}), "choices": [], "usage": openai_usage(self.usage)})
        return chunks
