"""OpenAI Chat Completions response → Anthropic Messages response. Pure."""

import json
import uuid
from typing import Any

from routing.translate.tool_names import ToolNameMap

Json = dict[str, Any]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def as_object(value: object) -> Json:
    """``value`` if it is a JSON object, else an empty one (upstream JSON is untrusted)."""
    return value if isinstance(value, dict) else {}


def new_message_id(upstream_id: object = None) -> str:
    if isinstance(upstream_id, str) and upstream_id:
        return (
            upstream_id if upstream_id.startswith("msg_") else f"msg_{upstream_id.removeprefix('chatcmpl-')}"
        )
    return f"msg_{uuid.uuid4().hex[:24]}"


def new_tool_use_id() -> str:
    return f"toolu_{uuid.uuid4().hex[:24]}"


def parse_tool_arguments(raw: object) -> Json:
    """Tool input from an OpenAI ``arguments`` string; never raises.

    Some models wrap JSON in a code fence or trail text after it; those are repaired.
    What cannot be parsed is kept raw under ``_raw_arguments`` so nothing is lost.
    """
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    text = raw.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed, _ = json.JSONDecoder().raw_decode(text)
        except ValueError:
            return {"_raw_arguments": raw}
    return parsed if isinstance(parsed, dict) else {"_value": parsed}


def stop_reason(finish_reason: object, matched_stop: object = None) -> tuple[str, str | None]:
    """(Anthropic stop_reason, stop_sequence) for an OpenAI finish reason.

    OpenAI strips the stop string and does not say which one matched; providers that do
    (``stop_reason``/``matched_stop`` as a string) get ``stop_sequence``.
    """
    if finish_reason == "stop" and isinstance(matched_stop, str) and matched_stop:
        return "stop_sequence", matched_stop
    if isinstance(finish_reason, str):
        return STOP_REASONS.get(finish_reason, "end_turn"), None
    return "end_turn", None


def anthropic_usage(usage: object) -> Json:
    if not isinstance(usage, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = usage.get("prompt_tokens") or 0
    details = usage.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    cached = usage.get("prompt_cache_hit_tokens") or cached  # DeepSeek's name for it
    result: Json = {
        "input_tokens": max(0, int(prompt) - int(cached)),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }
    if cached:
        result["cache_read_input_tokens"] = int(cached)
    return result


def reasoning_text(message: Json) -> str | None:
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def openai_to_anthropic_response(
    resp: Json, *, client_model: str, tool_names: ToolNameMap, stop_sequences: list[str] | None = None
) -> Json:
    choices = resp.get("choices")
    choice = as_object(choices[0]) if isinstance(choices, list) and choices else {}
    message = as_object(choice.get("message"))
    content: list[Json] = []
    thinking = reasoning_text(message)
    if thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": ""})
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or new_tool_use_id(),
                "name": tool_names.to_client(str(function.get("name") or "")),
                "input": parse_tool_arguments(function.get("arguments")),
            }
        )
    matched = choice.get("stop_reason") or choice.get("matched_stop")
    if isinstance(matched, str) and stop_sequences and matched not in stop_sequences:
        matched = None
    reason, sequence = stop_reason(choice.get("finish_reason"), matched)
    if any(block["type"] == "tool_use" for block in content) and reason == "end_turn":
        reason = "tool_use"
    return {
        "id": new_message_id(resp.get("id")),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": anthropic_usage(resp.get("usage")),
    }
