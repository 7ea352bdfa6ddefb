"""OpenAI Chat Completions response → Anthropic Messages response (pure).

Upstream JSON is not trusted: missing or mistyped fields give an empty but valid
message rather than an exception.
"""

from collections.abc import Sequence
from typing import Any

from routing.translation.openai_fields import (
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
from routing.translation.reasoning_details import detail_blocks, reasoning_details
from routing.translation.shapes import JSONObject
from routing.translation.tool_arguments import parse_tool_arguments
from routing.translation.tool_names import ToolNameMap


def _message_text(message: JSONObject) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some providers answer with content parts
        texts = (
            part.get("text") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
        return "".join(text for text in texts if isinstance(text, str))
    return ""


def _upstream_calls(message: JSONObject) -> list[JSONObject]:
    calls = message.get("tool_calls")
    found = [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []
    legacy = message.get("function_call")
    if isinstance(legacy, dict):  # the pre-tools ``function_call`` shape
        found.append({"function": legacy})
    return found


def _tool_use_block(call: JSONObject, tool_names: ToolNameMap) -> JSONObject:
    function = call.get("function")
    function = function if isinstance(function, dict) else {}
    name = function.get("name")
    return {
        "type": "tool_use",
        "id": tool_id_with_signature(tool_use_id(call.get("id")), thought_signature(call)),
        "name": tool_names.to_client(name) if isinstance(name, str) else "",
        "input": parse_tool_arguments(function.get("arguments")),
    }


def _reasoning_blocks(message: JSONObject, quirks: ProviderQuirks) -> list[JSONObject]:
    details = reasoning_details(message) if quirks.reasoning_details else []
    if details:  # OpenRouter: each entry a block that carries it back (``reasoning`` repeats them)
        return detail_blocks(details)
    reasoning = reasoning_text(message)
    # No signature exists for non-Anthropic reasoning; the empty one marks that.
    return [{"type": "thinking", "thinking": reasoning, "signature": ""}] if reasoning else []


def _content_blocks(message: JSONObject, tool_names: ToolNameMap, quirks: ProviderQuirks) -> list[JSONObject]:
    blocks = _reasoning_blocks(message, quirks)
    text = _message_text(message)
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str):
        text = refusal
    if text:
        blocks.append({"type": "text", "text": text})
    blocks.extend(_tool_use_block(call, tool_names) for call in _upstream_calls(message))
    return blocks


def openai_to_anthropic_response(
    resp: JSONObject,
    *,
    client_model: str,
    tool_names: ToolNameMap,
    stop_sequences: Sequence[str] | None,
    quirks: ProviderQuirks = PLAIN_OPENAI,
) -> JSONObject:
    """The Anthropic message for a non-streaming completion; ``model`` is the client's name."""
    payload: dict[str, Any] = resp if isinstance(resp, dict) else {}
    choice = first_choice(payload) or {}
    message = choice.get("message")
    content = _content_blocks(message, tool_names, quirks) if isinstance(message, dict) else []
    matched = matched_stop_sequence(choice, stop_sequences)
    refused = (
        isinstance(message, dict) and isinstance(message.get("refusal"), str) and bool(message["refusal"])
    )
    stop_reason = anthropic_stop_reason(
        "content_filter" if refused else choice.get("finish_reason"),
        has_tool_use=any(block["type"] == "tool_use" for block in content),
        matched_stop=matched,
    )
    return {
        "id": message_id(payload.get("id")),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": matched if stop_reason == "stop_sequence" else None,
        "usage": anthropic_usage(payload.get("usage")),
    }
