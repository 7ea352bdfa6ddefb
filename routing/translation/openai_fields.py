"""Reading an OpenAI completion or chunk the way the Anthropic side needs it.

Shared by the whole-response and the streaming translation: finish reason → stop
reason, usage, message and tool-use ids. Upstream JSON is not trusted to have any
particular shape; every reader tolerates missing or mistyped fields.
"""

import re
import uuid
from collections.abc import Sequence
from typing import Any

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


def anthropic_stop_reason(finish_reason: Any, *, has_tool_use: bool, matched_stop: str | None) -> str:
    """The Anthropic ``stop_reason`` for an OpenAI ``finish_reason``.

    Whether the turn ends in tool use is decided by the tool calls actually received,
    not by the label: some providers answer ``stop`` (or nothing) after tool calls, and
    Anthropic clients only run tools on ``tool_use``; a ``tool_calls`` label with no call
    would make them wait for tools that do not exist. Cut-off and filtered outputs keep
    their own reasons.
    """
    mapped = _FINISH_TO_STOP.get(finish_reason) if isinstance(finish_reason, str) else None
    if mapped in ("max_tokens", "refusal"):
        return mapped
    if has_tool_use:
        return "tool_use"
    if matched_stop is not None:
        return "stop_sequence"
    return "end_turn"


def matched_stop_sequence(choice: dict[str, Any], stop_sequences: Sequence[str] | None) -> str | None:
    """The stop sequence that ended the output, when the provider says which one.

    OpenAI strips the stop string and does not report it, so plain OpenAI answers map to
    ``end_turn``. vLLM reports it as ``stop_reason`` and SGLang as ``matched_stop``; it is
    used when it is a string the client asked for (or any string if the list is unknown).
    """
    if choice.get("finish_reason") not in ("stop", None):
        return None
    for key in ("stop_reason", "matched_stop"):
        value = choice.get(key)
        if isinstance(value, str) and value and (stop_sequences is None or value in stop_sequences):
            return value
    return None


def _int_field(container: Any, key: str) -> int | None:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def cached_prompt_tokens(usage: dict[str, Any]) -> int | None:
    cached = _int_field(usage.get("prompt_tokens_details"), "cached_tokens")
    # DeepSeek reports cache hits as a top-level field instead.
    return cached if cached is not None else _int_field(usage, "prompt_cache_hit_tokens")


def anthropic_usage(usage: Any) -> dict[str, int]:
    """``input_tokens`` excludes cached prompt tokens, which go to ``cache_read_input_tokens``."""
    if not isinstance(usage, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = _int_field(usage, "prompt_tokens") or 0
    cached = cached_prompt_tokens(usage)
    result = {
        "input_tokens": max(prompt - (cached or 0), 0),
        "output_tokens": _int_field(usage, "completion_tokens") or 0,
    }
    if cached is not None:
        result["cache_read_input_tokens"] = cached
    return result


def accounted_usage(usage: Any) -> dict[str, int]:
    """OpenAI usage in the shape calls are accounted in (``ProxyCall.record``): Anthropic's
    counts, plus ``cache_creation_input_tokens`` (OpenRouter's
    ``prompt_tokens_details.cache_write_tokens``, out of ``input_tokens``) and
    ``reasoning_output_tokens`` (of the output). Never sent to a client: answers carry
    ``anthropic_usage``, whose keys are Anthropic's own."""
    result = anthropic_usage(usage)
    if not isinstance(usage, dict):
        return result
    written = _int_field(usage.get("prompt_tokens_details"), "cache_write_tokens")
    if written:
        result["cache_creation_input_tokens"] = written
        result["input_tokens"] = max(result["input_tokens"] - written, 0)
    reasoning = _int_field(usage.get("completion_tokens_details"), "reasoning_tokens")
    if reasoning:
        result["reasoning_output_tokens"] = reasoning
    return result


def message_id(upstream_id: Any) -> str:
    """``msg_`` + the upstream id (so logs on both sides can be matched), or a fresh id."""
    cleaned = _ID_UNSAFE.sub("", upstream_id) if isinstance(upstream_id, str) else ""
    return f"msg_{cleaned}" if cleaned else f"msg_{uuid.uuid4().hex[:24]}"


def tool_use_id(upstream_id: Any) -> str:
    if isinstance(upstream_id, str) and upstream_id:
        return upstream_id
    return f"toolu_{uuid.uuid4().hex[:24]}"


def first_choice(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Choice 0 (the gateway never asks for ``n`` > 1)."""
    choices = payload.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def reasoning_text(container: dict[str, Any]) -> str:
    """Reasoning under either common name; providers that send both repeat the same text."""
    for key in ("reasoning_content", "reasoning"):
        value = container.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
