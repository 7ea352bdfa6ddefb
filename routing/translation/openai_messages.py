"""OpenAI ``messages`` → Anthropic ``system`` + ``messages`` (the OpenAI front door).

- ``system`` and ``developer`` messages, wherever they stand, become the ``system``
  prompt in their order (Anthropic has no system turns);
- ``assistant`` messages become assistant turns: text, then one ``tool_use`` block per
  entry of ``tool_calls`` (``arguments`` parsed; arguments that are not a JSON object
  are the client's error and a 400);
- ``tool`` messages become ``tool_result`` blocks in a user turn;
- consecutive turns of one role are merged into one turn, so consecutive tool results
  share the user turn that answers the assistant's calls, as Anthropic requires, and
  the turns alternate as Bedrock requires.
"""

import json
from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.openai_content import text_blocks, user_blocks
from routing.translation.shapes import JSONObject, require_list, require_object, require_str
from routing.translation.tool_names import ToolNameMap

SYSTEM_ROLES = frozenset({"system", "developer"})
LEGACY_FUNCTION_HINT = "the legacy functions API is not translated; use tools and tool messages"


def parse_call_arguments(raw: Any, field: str) -> JSONObject:
    """A tool call's ``arguments`` (a JSON string from an earlier answer) as an object."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    text = require_str(raw, field)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranslationError(f"is not valid JSON ({exc.msg} at character {exc.pos})", field) from exc
    if not isinstance(value, dict):
        raise TranslationError("must be a JSON object", field)
    return value


def _tool_use_block(call: Any, field: str, tool_names: ToolNameMap) -> JSONObject:
    entry = require_object(call, field)
    if entry.get("type", "function") != "function":
        raise TranslationError("only function tool calls can be translated", f"{field}.type")
    function = require_object(entry.get("function"), f"{field}.function")
    return {
        "type": "tool_use",
        "id": require_str(entry.get("id"), f"{field}.id"),
        "name": tool_names.to_upstream(require_str(function.get("name"), f"{field}.function.name")),
        "input": parse_call_arguments(function.get("arguments"), f"{field}.function.arguments"),
    }


def _assistant_blocks(message: JSONObject, field: str, tool_names: ToolNameMap) -> list[JSONObject]:
    if message.get("function_call") is not None:
        raise TranslationError(LEGACY_FUNCTION_HINT, f"{field}.function_call")
    blocks = text_blocks(message.get("content"), f"{field}.content", refusals=True)
    calls = message.get("tool_calls")
    if calls is not None:
        for index, call in enumerate(require_list(calls, f"{field}.tool_calls")):
            blocks.append(_tool_use_block(call, f"{field}.tool_calls.{index}", tool_names))
    return blocks


def _tool_result_block(message: JSONObject, field: str) -> JSONObject:
    block: JSONObject = {
        "type": "tool_result",
        "tool_use_id": require_str(message.get("tool_call_id"), f"{field}.tool_call_id"),
    }
    content = text_blocks(message.get("content"), f"{field}.content")
    if content:
        block["content"] = content[0]["text"] if len(content) == 1 and len(content[0]) == 2 else content
    return block


def _turn(message: JSONObject, field: str, tool_names: ToolNameMap) -> tuple[str, list[JSONObject]]:
    role = message.get("role")
    if role == "user":
        return "user", user_blocks(message.get("content"), f"{field}.content")
    if role == "assistant":
        return "assistant", _assistant_blocks(message, field, tool_names)
    if role == "tool":
        return "user", [_tool_result_block(message, field)]
    if role == "function":
        raise TranslationError(LEGACY_FUNCTION_HINT, f"{field}.role")
    raise TranslationError("must be 'system', 'developer', 'user', 'assistant' or 'tool'", f"{field}.role")


def _compact(turn: JSONObject) -> JSONObject:
    blocks = turn["content"]
    if turn["role"] == "user":
        # Anthropic wants a turn's tool results before anything else in it.
        blocks.sort(key=lambda block: block["type"] != "tool_result")
    # A lone plain text block is sent as a string, as most clients write it.
    if len(blocks) == 1 and blocks[0]["type"] == "text" and len(blocks[0]) == 2:
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return turn


def system_prompt(blocks: list[JSONObject]) -> str | list[JSONObject] | None:
    """The ``system`` value: one string, or blocks when any carries ``cache_control``."""
    if not blocks:
        return None
    if any("cache_control" in block for block in blocks):
        return blocks
    return "\n\n".join(block["text"] for block in blocks)


def anthropic_messages(messages: Any, tool_names: ToolNameMap) -> tuple[list[JSONObject], list[JSONObject]]:
    """(system text blocks, Anthropic turns) for an OpenAI ``messages`` list."""
    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for index, raw in enumerate(require_list(messages, "messages")):
        field = f"messages.{index}"
        message = require_object(raw, field)
        if message.get("role") in SYSTEM_ROLES:
            system.extend(text_blocks(message.get("content"), f"{field}.content"))
            continue
        role, blocks = _turn(message, field, tool_names)
        if not blocks:
            continue  # e.g. an assistant message with empty content: Anthropic refuses those
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise TranslationError("at least one user or assistant message with content is required", "messages")
    return system, [_compact(turn) for turn in turns]
