"""Shape checks for a Responses API request body. Pure.

``validate_responses_body`` raises ``TranslationError`` naming the dotted field
(``input.3.type``, ``tools.0.name``) so the door answers a 400 in OpenAI's envelope,
never a 500. It checks shapes only, not what a provider can do: hosted tools
(``web_search``…), the items hosted tools leave in a conversation and stateful fields
(``previous_response_id``) pass, because a native Responses provider takes them as
they are. What a translation cannot carry is refused by the translators.
"""

from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.responses_input import (
    CALL_ITEM_FIELDS,
    HOSTED_CALL_ITEM_TYPES,
    HOSTED_TOOL_TYPES,
    MESSAGE_ROLES,
    item_type,
)
from routing.translation.shapes import JSONObject, require_int, require_list, require_number, require_object

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
TEXT_FORMATS = ("text", "json_object", "json_schema")
TOOL_CHOICE_MODES = ("auto", "none", "required")
MESSAGE_PART_TYPES = frozenset({"input_text", "output_text", "refusal", "input_image", "input_file"})
OUTPUT_PART_TYPES = frozenset({"input_text", "input_image", "input_file"})
_PART_TEXT_FIELD = {"input_text": "text", "output_text": "text", "refusal": "refusal"}


def _require_nonempty_str(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise TranslationError("must be a non-empty string", field)
    return value


def _optional(body: JSONObject, name: str, kind: type, what: str) -> None:
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        raise TranslationError(f"must be {what}", name)


def _part(part: Any, field: str, allowed: frozenset[str]) -> None:
    kind = require_object(part, field).get("type")
    if not isinstance(kind, str) or kind not in allowed:
        shown = repr(kind[:40]) if isinstance(kind, str) else "missing"
        raise TranslationError(f"unsupported content part type {shown}", f"{field}.type")
    text_field = _PART_TEXT_FIELD.get(kind)
    if text_field is not None:
        if not isinstance(part.get(text_field), str):
            raise TranslationError("must be a string", f"{field}.{text_field}")
    elif kind == "input_image":
        if not isinstance(part.get("image_url"), str) and not isinstance(part.get("file_id"), str):
            raise TranslationError("an input_image needs image_url or file_id", field)
    elif not any(isinstance(part.get(key), str) for key in ("file_data", "file_id", "file_url")):
        raise TranslationError("an input_file needs file_data, file_id or file_url", field)


def _content(value: Any, field: str, allowed: frozenset[str]) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise TranslationError("must be a string or a list of content parts", field)
    for index, part in enumerate(value):
        _part(part, f"{field}.{index}", allowed)


def _message(item: JSONObject, field: str) -> None:
    role = item.get("role")
    if role not in MESSAGE_ROLES:
        raise TranslationError("must be 'user', 'assistant', 'system' or 'developer'", f"{field}.role")
    if "content" not in item:
        raise TranslationError("a message needs content", f"{field}.content")
    _content(item["content"], f"{field}.content", MESSAGE_PART_TYPES)


def _call_item(item: JSONObject, field: str, kind: str) -> None:
    """function_call / custom_tool_call and their outputs: ids, names, argument strings."""
    for name in CALL_ITEM_FIELDS[kind]:
        value = item.get(name)
        if name == "output":
            if value is None:
                raise TranslationError("a tool output needs output", f"{field}.output")
            _content(value, f"{field}.output", OUTPUT_PART_TYPES)
        elif name in ("arguments", "input"):
            if not isinstance(value, str):
                raise TranslationError(
                    "must be a string (JSON text for function arguments)", f"{field}.{name}"
                )
        else:
            _require_nonempty_str(value, f"{field}.{name}")
    if item.get("namespace") is not None:
        _require_nonempty_str(item["namespace"], f"{field}.namespace")


def _item(raw: Any, field: str) -> None:
    item = require_object(raw, field)
    kind = item_type(item)
    if kind is None:
        raise TranslationError(
            "an input item needs a string type (or a role, for a message)", f"{field}.type"
        )
    if kind == "message":
        _message(item, field)
    elif kind in CALL_ITEM_FIELDS:
        _call_item(item, field, kind)
    elif kind == "reasoning":
        encrypted = item.get("encrypted_content")
        if encrypted is not None and not isinstance(encrypted, str):
            raise TranslationError("must be a string", f"{field}.encrypted_content")
    elif kind == "item_reference":
        _require_nonempty_str(item.get("id"), f"{field}.id")
    elif kind not in HOSTED_CALL_ITEM_TYPES:
        raise TranslationError(f"unknown input item type {kind[:40]!r}", f"{field}.type")


def _input(body: JSONObject) -> None:
    value = body.get("input")
    if value is None:
        if not any(body.get(name) is not None for name in ("previous_response_id", "conversation", "prompt")):
            raise TranslationError("input is required", "input")
        return
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise TranslationError("must be a string or a list of input items", "input")
    for index, item in enumerate(value):
        _item(item, f"input.{index}")


def _function_tool(tool: JSONObject, field: str) -> None:
    _require_nonempty_str(tool.get("name"), f"{field}.name")
    if tool.get("parameters") is not None:
        require_object(tool["parameters"], f"{field}.parameters")
    if tool.get("description") is not None and not isinstance(tool["description"], str):
        raise TranslationError("must be a string", f"{field}.description")
    if tool.get("strict") is not None and not isinstance(tool["strict"], bool):
        raise TranslationError("must be a boolean", f"{field}.strict")


def _namespace_tool(tool: JSONObject, field: str) -> None:
    _require_nonempty_str(tool.get("name"), f"{field}.name")
    if tool.get("description") is not None and not isinstance(tool["description"], str):
        raise TranslationError("must be a string", f"{field}.description")
    for index, raw in enumerate(require_list(tool.get("tools"), f"{field}.tools")):
        inner = require_object(raw, f"{field}.tools.{index}")
        kind = inner.get("type", "function")
        if kind == "function":
            _function_tool(inner, f"{field}.tools.{index}")
        elif kind != "custom":
            raise TranslationError(
                "a namespace holds only function or custom tools", f"{field}.tools.{index}.type"
            )


def _tools(body: JSONObject) -> None:
    if body.get("tools") is None:
        return
    for index, raw in enumerate(require_list(body["tools"], "tools")):
        field = f"tools.{index}"
        kind = require_object(raw, field).get("type")
        if kind == "function":
            _function_tool(raw, field)
        elif kind == "namespace":
            _namespace_tool(raw, field)
        elif not isinstance(kind, str) or kind not in HOSTED_TOOL_TYPES:
            shown = repr(kind[:40]) if isinstance(kind, str) else "missing"
            raise TranslationError(f"unknown tool type {shown}", f"{field}.type")


def _tool_choice(body: JSONObject) -> None:
    value = body.get("tool_choice")
    if value is None or value in TOOL_CHOICE_MODES:
        return
    if isinstance(value, str):
        raise TranslationError("must be 'auto', 'none', 'required' or an object", "tool_choice")
    kind = require_object(value, "tool_choice").get("type")
    if kind in ("function", "custom"):
        _require_nonempty_str(value.get("name"), "tool_choice.name")
    elif kind == "allowed_tools":
        if value.get("mode") not in ("auto", "required"):
            raise TranslationError("must be 'auto' or 'required'", "tool_choice.mode")
        require_list(value.get("tools"), "tool_choice.tools")
    elif not isinstance(kind, str) or kind not in HOSTED_TOOL_TYPES:
        raise TranslationError("unknown tool_choice type", "tool_choice.type")


def _text(body: JSONObject) -> None:
    if body.get("text") is None:
        return
    text = require_object(body["text"], "text")
    if text.get("format") is None:
        return
    text_format = require_object(text["format"], "text.format")
    kind = text_format.get("type")
    if kind not in TEXT_FORMATS:
        raise TranslationError("must be 'text', 'json_object' or 'json_schema'", "text.format.type")
    if kind == "json_schema":
        _require_nonempty_str(text_format.get("name"), "text.format.name")
        require_object(text_format.get("schema"), "text.format.schema")


def _reasoning(body: JSONObject) -> None:
    if body.get("reasoning") is None:
        return
    effort = require_object(body["reasoning"], "reasoning").get("effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise TranslationError("must be one of " + ", ".join(REASONING_EFFORTS), "reasoning.effort")


def _scalars(body: JSONObject) -> None:
    for name in ("stream", "store", "parallel_tool_calls", "background"):
        _optional(body, name, bool, "a boolean")
    for name in ("instructions", "previous_response_id", "user", "safety_identifier", "prompt_cache_key"):
        _optional(body, name, str, "a string")
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            require_number(body[name], name)
    if (
        body.get("max_output_tokens") is not None
        and require_int(body["max_output_tokens"], "max_output_tokens") < 1
    ):
        raise TranslationError("must be a positive integer", "max_output_tokens")
    if body.get("include") is not None:
        for index, entry in enumerate(require_list(body["include"], "include")):
            if not isinstance(entry, str):
                raise TranslationError("must be a string", f"include.{index}")


def validate_responses_body(body: Any) -> None:
    """Raise ``TranslationError`` (naming the field) if ``body`` is not a Responses request."""
    body = require_object(body, "body")
    _require_nonempty_str(body.get("model"), "model")
    _scalars(body)
    _input(body)
    _tools(body)
    _tool_choice(body)
    _text(body)
    _reasoning(body)
