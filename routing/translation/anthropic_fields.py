"""Reading an Anthropic message or event the way the OpenAI side needs it.

Shared by the whole-response and the streaming translation of the OpenAI front door:
stop reason → finish reason, usage, completion ids. Upstream JSON is not trusted to
have any particular shape; every reader tolerates missing or mistyped fields.
"""

import re
import uuid
from typing import Any

from routing.translation.shapes import JSONObject

_STOP_TO_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    # A server tool (web search…) paused a long turn: the answer so far is complete text.
    "pause_turn": "stop",
}
_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def finish_reason(stop_reason: Any) -> str:
    """The OpenAI ``finish_reason`` for an Anthropic ``stop_reason`` (unknown or missing: stop)."""
    return _STOP_TO_FINISH.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _count(usage: JSONObject, key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def merged_usage(current: JSONObject, update: Any) -> JSONObject:
    """``current`` with the counts in ``update`` (Anthropic's ``message_delta`` usage is
    cumulative, so a later count replaces an earlier one)."""
    if not isinstance(update, dict):
        return current
    counts = {
        key: update[key] for key in USAGE_FIELDS if key in update and _count(update, key) == update[key]
    }
    return {**current, **counts}


def openai_usage(usage: Any) -> JSONObject:
    """Anthropic usage → OpenAI usage.

    Anthropic's ``input_tokens`` excludes cached and cache-written prompt tokens; OpenAI's
    ``prompt_tokens`` counts the whole prompt, with the cached part in
    ``prompt_tokens_details.cached_tokens``.
    """
    counts = usage if isinstance(usage, dict) else {}
    cached = _count(counts, "cache_read_input_tokens")
    prompt = _count(counts, "input_tokens") + cached + _count(counts, "cache_creation_input_tokens")
    completion = _count(counts, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def completion_id(upstream_id: Any) -> str:
    """``chatcmpl-`` + the upstream message id without its ``msg_`` (logs on both sides
    can be matched), or a fresh id."""
    raw = upstream_id.removeprefix("msg_") if isinstance(upstream_id, str) else ""
    cleaned = _ID_UNSAFE.sub("", raw)
    return f"chatcmpl-{cleaned}" if cleaned else f"chatcmpl-{uuid.uuid4().hex[:24]}"
