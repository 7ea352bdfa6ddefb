"""Tool-name sanitization as built-in middleware: on for a provider that restricts tool
names (its ``tool_name_sanitization`` flag), behind the Anthropic and the OpenAI door.

Going up, the request hook renames the tools in the provider's dialect (declared tools,
a named tool choice, earlier calls) with the deterministic ``ToolNameMap`` of
``routing.translation.tool_names``; the map stays in the call's hook state, and the
answer hooks put the client's names back into its dialect: ``tool_use`` blocks for an
Anthropic client, ``tool_calls`` for an OpenAI one, whole or chunk by chunk. The
Responses door still renames in its own translation.
"""

import copy
from collections.abc import Iterable
from typing import Any

from routing.middleware.base import HookContext, Middleware, StreamEvent
from routing.translation.openai_tool_names import (
    openai_tool_name_map,
    restore_chunk,
    restore_response,
    sanitized_request,
)
from routing.translation.tool_names import ToolNameMap, build_tool_name_map

NAMES = "tool_names"  # the state key: the map, when a name was changed going up


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _rename(container: Any, rename: Any) -> bool:
    if not isinstance(container, dict) or not isinstance(container.get("name"), str):
        return False
    new_name = rename(container["name"])
    changed: bool = new_name != container["name"]
    container["name"] = new_name
    return changed


def sanitized_anthropic_request(body: dict[str, Any], names: ToolNameMap) -> tuple[dict[str, Any], bool]:
    """(an Anthropic Messages body with upstream tool names, whether any changed)."""
    out = copy.deepcopy(body)
    named: list[Any] = [*_dicts(out.get("tools"))]
    choice = out.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        named.append(choice)
    for message in _dicts(out.get("messages")):
        named.extend(block for block in _dicts(message.get("content")) if block.get("type") == "tool_use")
    changed = [_rename(item, names.to_upstream) for item in named]
    return out, any(changed)


def _restore_blocks(blocks: Any, names: ToolNameMap) -> None:
    for block in _dicts(blocks):
        if block.get("type") == "tool_use":
            _rename(block, names.to_client)


class ToolNameSanitization(Middleware):
    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        if context.door == "responses":
            return body  # renamed in the Responses translation
        if context.wire == "chat_completions":
            names = openai_tool_name_map(body, sanitize=True)
            body, renamed = sanitized_request(body, names)
        elif context.wire == "anthropic_messages":
            names = build_tool_name_map(body.get("tools"), sanitize=True)
            body, renamed = sanitized_anthropic_request(body, names)
        else:
            return body
        if renamed:
            context.state[NAMES] = names
        return body

    def wants_answer(self, context: HookContext) -> bool:
        return NAMES in context.state  # no name changed going up: nothing to put back

    async def on_response(self, payload: dict[str, Any], context: HookContext) -> dict[str, Any]:
        names = context.state.get(NAMES)
        if names is not None:
            if context.door == "messages":
                _restore_blocks(payload.get("content"), names)
            elif context.door == "chat_completions":
                restore_response(payload, names)
        return payload

    async def on_stream_event(self, event: StreamEvent, context: HookContext) -> Iterable[StreamEvent]:
        names = context.state.get(NAMES)
        if names is not None:
            if context.door == "messages" and event.name == "content_block_start":
                _restore_blocks([event.data.get("content_block")], names)
            elif context.door == "chat_completions":
                restore_chunk(event.data, names)  # a name comes whole, in its call's first delta
        return (event,)
