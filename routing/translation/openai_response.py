"""Anthropic Messages response → OpenAI Chat Completions response (pure).

Text blocks become ``content``, ``tool_use`` blocks ``tool_calls`` (``arguments`` as a
JSON string), ``thinking`` blocks ``reasoning_content`` (the field DeepSeek, vLLM and
OpenRouter use). Redacted thinking and server-tool blocks (web search and the like, run
on the provider's side) have no OpenAI form and are left out. Upstream JSON is not
trusted: missing or mistyped fields give an empty but valid completion.
"""

import json
from typing import Any

from routing.translation.anthropic_fields import completion_id, finish_reason, openai_usage
from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap


def tool_call(block: JSONObject, tool_names: ToolNameMap) -> JSONObject:
    name = block.get("name")
    arguments = block.get("input")
    return {
        "id": block.get("id") if isinstance(block.get("id"), str) else "",
        "type": "function",
        "function": {
            "name": tool_names.to_client(name) if isinstance(name, str) else "",
            "arguments": json.dumps(arguments if isinstance(arguments, dict) else {}, ensure_ascii=False),
        },
    }


def _texts(blocks: list[JSONObject], kind: str, key: str) -> str | None:
    texts = [block[key] for block in blocks if block.get("type") == kind and isinstance(block.get(key), str)]
    return "".join(texts) or None


def assistant_message(content: Any, tool_names: ToolNameMap) -> JSONObject:
    blocks = [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []
    message: JSONObject = {"role": "assistant", "content": _texts(blocks, "text", "text"), "refusal": None}
    reasoning = _texts(blocks, "thinking", "thinking")
    if reasoning:
        message["reasoning_content"] = reasoning
    calls = [tool_call(block, tool_names) for block in blocks if block.get("type") == "tool_use"]
    if calls:
        message["tool_calls"] = calls
    return message


def anthropic_to_openai_response(
    message: JSONObject, *, client_model: str, tool_names: ToolNameMap, created: int
) -> JSONObject:
    """The chat completion for a non-streamed Anthropic message; ``model`` is the client's name."""
    payload: dict[str, Any] = message if isinstance(message, dict) else {}
    return {
        "id": completion_id(payload.get("id")),
        "object": "chat.completion",
        "created": created,
        "model": client_model,
        "choices": [
            {
                "index": 0,
                "message": assistant_message(payload.get("content"), tool_names),
                "logprobs": None,
                "finish_reason": finish_reason(payload.get("stop_reason")),
            }
        ],
        "usage": openai_usage(payload.get("usage")),
    }
