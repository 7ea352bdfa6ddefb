"""Shape checks for client JSON: each failure is a ``TranslationError`` naming the field."""

from typing import Any

from routing.translation.errors import TranslationError

JSONObject = dict[str, Any]


def require_object(value: Any, field: str) -> JSONObject:
    if not isinstance(value, dict):
        raise TranslationError("must be an object", field)
    return value


def require_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise TranslationError("must be a list", field)
    return value


def require_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise TranslationError("must be a string", field)
    return value


def optional_str(value: Any, field: str) -> str | None:
    return None if value is None else require_str(value, field)


def require_int(value: Any, field: str) -> int:
    # bool is an int subclass in Python but not an integer in JSON.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TranslationError("must be an integer", field)
    return value


def require_number(value: Any, field: str) -> float | int:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TranslationError("must be a number", field)
    return value


def block_type(block: Any, field: str) -> str:
    """The ``type`` of a content block, which must be an object with a string type."""
    obj = require_object(block, field)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise TranslationError("content block needs a string 'type'", f"{field}.type")
    return kind


def content_blocks(content: Any, field: str) -> list[JSONObject]:
    """Message content as a list of blocks: a bare string is one text block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks = require_list(content, field)
    for index, block in enumerate(blocks):
        block_type(block, f"{field}.{index}")
    return blocks
