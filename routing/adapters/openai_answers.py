"""What an OpenAI-format upstream answered with a 200, before it is translated. Pure.

A 200 does not always carry a completion: OpenAI-compatible gateways (OpenRouter
among them) relay a provider's failure as ``{"error": {"code": 429, "message": …}}``
with status 200, and some servers answer a request that asked for a stream with one
whole JSON completion. Translated blindly, either becomes an empty assistant message
that ends with ``end_turn``; these helpers let the caller tell them apart.
"""

from typing import Any

FIRST_ERROR_STATUS = 400
LAST_STATUS = 599


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, parameters ignored."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def has_completion(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("choices"), list)


# A message whose content is null still answers when one of these carries the answer,
# or when its finish reason says why it is empty.
_ANSWERS_WITHOUT_CONTENT = (
    "tool_calls",
    "function_call",
    "refusal",
    "audio",
    "reasoning",
    "reasoning_content",
)
_EMPTY_FINISHES = ("length", "content_filter", "tool_calls", "function_call")


def _choice_problem(choice: Any) -> str | None:
    if not isinstance(choice, dict):
        return "is not an object"
    message = choice.get("message")
    if not isinstance(message, dict):
        return "has no message"
    content = message.get("content")
    if isinstance(content, str) or (
        isinstance(content, list) and any(isinstance(part, dict) and "text" in part for part in content)
    ):
        return None
    if content is None:
        if any(message.get(field) for field in _ANSWERS_WITHOUT_CONTENT):
            return None
        return (
            None if choice.get("finish_reason") in _EMPTY_FINISHES else "has neither content nor a tool call"
        )
    return f"has non-text content ({type(content).__name__})"


def completion_problem(payload: dict[str, Any]) -> str | None:
    """Why a completion (``has_completion``) carries no answer a client could read:
    ``choices: []``, ``[{}]``, a null ``message``, content that is not text. None: usable."""
    choices = payload["choices"]
    if not choices:
        return "no choices"
    for index, choice in enumerate(choices):
        problem = _choice_problem(choice)
        if problem is not None:
            return f"choices[{index}] {problem}"
    return None


def anthropic_message_problem(payload: Any) -> str | None:
    """Why an Anthropic-format 200 body is no message a client could read: not an object,
    ``content`` missing or not a list of typed blocks. None: usable (an empty list is a
    valid answer: Claude may end its turn without a word)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    content = payload.get("content")
    if not isinstance(content, list):
        return "no 'content' list" if content is None else f"'content' is a {type(content).__name__}"
    for index, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"content[{index}] is not a typed block"
    return None


def _as_status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and FIRST_ERROR_STATUS <= value <= LAST_STATUS:
        return value
    return None


def embedded_error_status(payload: Any) -> int | None:
    """The HTTP status an error object in a 200 body names (``code`` or ``status``),
    if it names one; ``None`` when the body carries no error or names no status."""
    if isinstance(payload, list) and payload:  # Gemini wraps errors in a list
        payload = payload[0]
    if not isinstance(payload, dict) or payload.get("error") is None:
        return None
    error = payload["error"]
    if not isinstance(error, dict):
        return None
    for field in ("code", "status"):
        status = _as_status(error.get(field))
        if status is not None:
            return status
    return None


def carries_error(payload: Any) -> bool:
    """A body with an ``error`` and no completion (also inside Gemini's list)."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    return isinstance(payload, dict) and payload.get("error") is not None and not has_completion(payload)


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part
        )
    return None


def completion_as_chunk(completion: dict[str, Any]) -> dict[str, Any]:
    """A whole completion as the one stream chunk that says the same: each choice's
    ``message`` becomes its ``delta`` (tool calls indexed in order), usage kept."""
    choices = []
    for position, choice in enumerate(completion.get("choices") or []):
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        delta: dict[str, Any] = {key: value for key, value in message.items() if key != "content"}
        text = _text(message.get("content"))
        if text:
            delta["content"] = text
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            delta["tool_calls"] = [
                {"index": index, **call} for index, call in enumerate(calls) if isinstance(call, dict)
            ]
        choices.append(
            {
                "index": choice.get("index", position),
                "delta": delta,
                "finish_reason": choice.get("finish_reason"),
            }
        )
    chunk: dict[str, Any] = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "choices": choices,
    }
    if isinstance(completion.get("usage"), dict):
        chunk["usage"] = completion["usage"]
    return chunk
