"""Anthropic ``system`` + ``messages`` → the OpenAI ``messages`` list.

One Anthropic turn can become several OpenAI messages: a user turn that starts with
``tool_result`` blocks becomes one ``role: tool`` message per result (OpenAI wants
them right after the assistant's ``tool_calls``), followed by a user message with
whatever else the turn held.
"""

import json
from typing import Any

from routing.translation.anthropic_content import text_part, tool_result_message, user_parts
from routing.translation.errors import TranslationError
from routing.translation.provider_state import (
    SKIP_SIGNATURE_VALIDATION,
    ProviderQuirks,
    split_tool_id,
    with_signature,
)
from routing.translation.reasoning_details import details_from_blocks
from routing.translation.shapes import (
    JSONObject,
    block_type,
    content_blocks,
    require_list,
    require_object,
    require_str,
)
from routing.translation.tool_names import ToolNameMap

# Assistant blocks OpenAI has no place for: server-tool blocks (web search, code
# execution, MCP…) ran on Anthropic's side.
_DROPPED_ASSISTANT_BLOCKS = frozenset({"container_upload"})
# Thinking goes up only where the provider takes it back (``ProviderQuirks``).
_REASONING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_SERVER_TOOL_SUFFIXES = ("_tool_use", "_tool_result")


def system_text(value: Any, field: str) -> str:
    """A system prompt given as a string or as text blocks (``cache_control`` ignored)."""
    if isinstance(value, str):
        return value
    texts = []
    for index, block in enumerate(require_list(value, field)):
        if block_type(block, f"{field}.{index}") != "text":
            raise TranslationError("system content blocks must be text blocks", f"{field}.{index}.type")
        texts.append(require_str(block.get("text"), f"{field}.{index}.text"))
    return "\n\n".join(texts)


def _user_content(parts: list[JSONObject]) -> str | list[JSONObject]:
    # A lone text part is sent as a plain string: every OpenAI-compatible server accepts it.
    if len(parts) == 1 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts


def _user_messages(content: Any, field: str) -> list[JSONObject]:
    tool_messages: list[JSONObject] = []
    result_media: list[JSONObject] = []
    parts: list[JSONObject] = []
    for index, block in enumerate(content_blocks(content, field)):
        path = f"{field}.{index}"
        if block["type"] != "tool_result":
            parts.extend(user_parts(block, path))
            continue
        message, media = tool_result_message(block, path)
        tool_messages.append(message)
        if media:
            label = f"Content returned by tool call {message['tool_call_id']}:"
            result_media.extend([text_part(label), *media])
    rest = result_media + parts
    if rest:
        return [*tool_messages, {"role": "user", "content": _user_content(rest)}]
    return tool_messages


def _tool_call(block: JSONObject, field: str, tool_names: ToolNameMap) -> tuple[JSONObject, str | None]:
    """The OpenAI tool call for a ``tool_use`` block, and the thought signature its id carried."""
    call_id, signature = split_tool_id(require_str(block.get("id"), f"{field}.id"))
    name = require_str(block.get("name"), f"{field}.name")
    arguments = block.get("input")
    arguments = {} if arguments is None else require_object(arguments, f"{field}.input")
    call = {
        "id": call_id,
        "type": "function",
        "function": {
            "name": tool_names.to_upstream(name),
            "arguments": json.dumps(arguments, ensure_ascii=False),
        },
    }
    return call, signature


def _signed_calls(calls: list[tuple[JSONObject, str | None]], quirks: ProviderQuirks) -> list[JSONObject]:
    """Tool calls as the provider wants them back: Gemini gets each signature where it was,
    and a call list whose first call has none (history from another model) gets Google's
    validator stand-in there, since Gemini signs the first of parallel calls."""
    if not quirks.thought_signatures:
        return [call for call, _ in calls]
    signed = [with_signature(call, signature) if signature else call for call, signature in calls]
    if calls and calls[0][1] is None:
        signed[0] = with_signature(signed[0], SKIP_SIGNATURE_VALIDATION)
    return signed


def _is_dropped_assistant_block(kind: str) -> bool:
    return kind in _DROPPED_ASSISTANT_BLOCKS or kind.endswith(_SERVER_TOOL_SUFFIXES)


def _thinking_texts(blocks: list[JSONObject]) -> list[str]:
    return [b["thinking"] for b in blocks if b["type"] == "thinking" and isinstance(b.get("thinking"), str)]


def _assistant_messages(
    content: Any, field: str, tool_names: ToolNameMap, quirks: ProviderQuirks
) -> list[JSONObject]:
    texts: list[str] = []
    reasoning: list[JSONObject] = []
    calls: list[tuple[JSONObject, str | None]] = []
    for index, block in enumerate(content_blocks(content, field)):
        path = f"{field}.{index}"
        kind = block["type"]
        if kind == "text":
            texts.append(require_str(block.get("text"), f"{path}.text"))
        elif kind == "tool_use":
            calls.append(_tool_call(block, path, tool_names))
        elif kind in _REASONING_BLOCKS:
            reasoning.append(block)
        elif not _is_dropped_assistant_block(kind):
            raise TranslationError(
                f"unsupported content block type {kind[:40]!r} in an assistant message", f"{path}.type"
            )
    if not texts and not calls:
        return []  # e.g. a turn that held only thinking
    message: JSONObject = {"role": "assistant", "content": "\n\n".join(texts) if texts else None}
    details = details_from_blocks(reasoning) if quirks.reasoning_details else []
    if details:
        message["reasoning_details"] = details
    if calls:
        message["tool_calls"] = _signed_calls(calls, quirks)
        if quirks.reasoning_on_tool_turns:
            # Even empty: DeepSeek's thinking mode rejects a tool-call turn without the field.
            message["reasoning_content"] = "\n\n".join(_thinking_texts(reasoning))
    return [message]


def _turn_messages(
    message: Any, field: str, tool_names: ToolNameMap, quirks: ProviderQuirks
) -> list[JSONObject]:
    turn = require_object(message, field)
    role = turn.get("role")
    content = turn.get("content")
    if role == "user":
        return _user_messages(content, f"{field}.content")
    if role == "assistant":
        return _assistant_messages(content, f"{field}.content", tool_names, quirks)
    if role == "system":
        # Claude Code puts system messages inside ``messages``; keep them in place.
        return [{"role": "system", "content": system_text(content, f"{field}.content")}]
    raise TranslationError("role must be 'user', 'assistant' or 'system'", f"{field}.role")


def openai_messages(body: JSONObject, tool_names: ToolNameMap, quirks: ProviderQuirks) -> list[JSONObject]:
    out: list[JSONObject] = []
    system = body.get("system")
    if system is not None:
        text = system_text(system, "system")
        if text:
            out.append({"role": "system", "content": text})
    for index, message in enumerate(require_list(body.get("messages"), "messages")):
        out.extend(_turn_messages(message, f"messages.{index}", tool_names, quirks))
    return out
