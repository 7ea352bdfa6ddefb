"""Tool-name sanitization inside OpenAI bodies (OpenAI client, OpenAI-format provider).

Where a provider restricts tool names (``tool_name_sanitization``), the names in the
request (declared tools, a named ``tool_choice``, earlier ``tool_calls``) are rewritten
with the ``ToolNameMap`` of ``tool_names`` and restored in the answer (whole or chunk by
chunk). Everything else in the bodies is left exactly as it was.
"""

import copy
from typing import Any

from routing.translation.shapes import JSONObject
from routing.translation.tool_names import ToolNameMap, build_tool_name_map


def _dicts(value: Any) -> list[JSONObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _function(container: Any) -> JSONObject | None:
    function = container.get("function") if isinstance(container, dict) else None
    return function if isinstance(function, dict) else None


def declared_tool_names(body: JSONObject) -> list[str]:
    """The names of the function tools a Chat Completions body declares."""
    names = []
    for tool in _dicts(body.get("tools")):
        function = _function(tool)
        if function is not None and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def openai_tool_name_map(body: JSONObject, *, sanitize: bool) -> ToolNameMap:
    return build_tool_name_map([{"name": name} for name in declared_tool_names(body)], sanitize=sanitize)


def _rename(function: JSONObject | None, rename: Any) -> bool:
    if function is None or not isinstance(function.get("name"), str):
        return False
    new_name = rename(function["name"])
    changed: bool = new_name != function["name"]
    function["name"] = new_name
    return changed


def sanitized_request(body: JSONObject, tool_names: ToolNameMap) -> tuple[JSONObject, bool]:
    """(the body with upstream tool names, whether any name changed)."""
    out = copy.deepcopy(body)
    functions = [_function(tool) for tool in _dicts(out.get("tools"))]
    functions.append(_function(out.get("tool_choice")))
    for message in _dicts(out.get("messages")):
        functions.extend(_function(call) for call in _dicts(message.get("tool_calls")))
    changed = [_rename(function, tool_names.to_upstream) for function in functions]
    return out, any(changed)


def _restore_calls(container: Any, tool_names: ToolNameMap) -> None:
    if isinstance(container, dict):
        for call in _dicts(container.get("tool_calls")):
            _rename(_function(call), tool_names.to_client)


def restore_response(payload: Any, tool_names: ToolNameMap) -> None:
    """Put the client's tool names back into a completion (in place)."""
    if isinstance(payload, dict):
        for choice in _dicts(payload.get("choices")):
            _restore_calls(choice.get("message"), tool_names)


def restore_chunk(chunk: Any, tool_names: ToolNameMap) -> None:
    """Put the client's tool names back into a stream chunk (in place): a name comes
    whole, in the first delta of its call."""
    if isinstance(chunk, dict):
        for choice in _dicts(chunk.get("choices")):
            _restore_calls(choice.get("delta"), tool_names)
