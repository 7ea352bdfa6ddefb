"""Tool-call ``arguments`` (a JSON string from the model) → the ``input`` object.

Models sometimes produce arguments that are not valid JSON: wrapped in a Markdown
fence, with trailing commas, or cut off by ``max_tokens``. A lenient repair handles
those; anything still unreadable is kept verbatim under ``_raw_arguments`` so the
client sees what the model wrote instead of the gateway failing.
"""

import json
import re
from typing import Any

RAW_ARGUMENTS_KEY = "_raw_arguments"

_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CLOSERS = {"{": "}", "[": "]"}


def _loads_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _closing_suffix(text: str) -> str:
    """What would close the strings, arrays and objects left open at the end of ``text``."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif char in "}]" and stack:
            stack.pop()
    return ('"' if in_string else "") + "".join(reversed(stack))


def _repaired(raw: str) -> dict[str, Any] | None:
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        return None
    text = text[start:].rstrip().rstrip(",")
    for candidate in (text, text + _closing_suffix(text)):
        value = _loads_object(_TRAILING_COMMA.sub(r"\1", candidate))
        if value is not None:
            return value
    return None


def parse_tool_arguments(raw: Any) -> dict[str, Any]:
    """Never raises: an object, repaired if need be, else ``{"_raw_arguments": raw}``."""
    if isinstance(raw, dict):
        return raw  # some providers already send an object
    if raw is None:
        return {}
    if not isinstance(raw, str):
        return {RAW_ARGUMENTS_KEY: json.dumps(raw)}
    if not raw.strip():
        return {}
    parsed = _loads_object(raw)
    if parsed is None:
        parsed = _repaired(raw)
    return parsed if parsed is not None else {RAW_ARGUMENTS_KEY: raw}
