"""Anthropic Messages request → OpenAI Chat Completions request. Pure.

What does not map is dropped on purpose: ``cache_control``, ``top_k``, thinking blocks
in the history, ``thinking: {type: adaptive}``, ``output_config``,
``context_management``, server tools and other Anthropic-only fields. What maps is
never invented: ``temperature``/``top_p`` only when sent, ``max_tokens`` unchanged.
"""

import json
import re
from typing import Any

from routing.translate.errors import TranslationError
from routing.translate.tool_names import ToolNameMap

# Models that take ``max_completion_tokens`` and ``reasoning_effort``.
_REASONING_MODEL = re.compile(r"(^|[/:])(o\d|gpt-5|codex)", re.IGNORECASE)
# thinking.budget_tokens → reasoning_effort: below 4096 low, below 16384 medium, else high.
_EFFORT_THRESHOLDS = ((4096, "low"), (16384, "medium"))

Json = dict[str, Any]


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.search(model))


def reasoning_effort(budget_tokens: int) -> str:
    for ceiling, effort in _EFFORT_THRESHOLDS:
        if budget_tokens < ceiling:
            return effort
    return "high"


def _text_of(blocks: Any, field: str) -> str:
    """Join the text of a string or a list of text blocks (other blocks are skipped)."""
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        raise TranslationError("must be a string or a list of content blocks", field)
    texts = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise TranslationError("must be an object", f"{field}.{index}")
        if block.get("type") == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise TranslationError("text block needs a string 'text'", f"{field}.{index}.text")
            texts.append(text)
    return "\n\n".join(texts)


def _image_part(block: Json, field: str) -> Json:
    source = block.get("source")
    if not isinstance(source, dict):
        raise TranslationError("image block needs a 'source' object", f"{field}.source")
    if source.get("type") == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if not isinstance(media_type, str) or not isinstance(data, str):
            raise TranslationError("base64 source needs 'media_type' and 'data'", f"{field}.source")
        return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise TranslationError("image source must be base64 or url", f"{field}.source.type")


def _document_part(block: Json, field: str) -> Json:
    source = block.get("source")
    if not isinstance(source, dict):
        raise TranslationError("document block needs a 'source' object", f"{field}.source")
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if kind == "content":
        return {"type": "text", "text": _text_of(source.get("content"), f"{field}.source.content")}
    if kind == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type") or "application/pdf"
        filename = block.get("title") if isinstance(block.get("title"), str) else "document.pdf"
        return {
            "type": "file",
            "file": {"filename": filename, "file_data": f"data:{media_type};base64,{source['data']}"},
        }
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "text", "text": f"[document: {source['url']}]"}
    raise TranslationError("unsupported document source", f"{field}.source.type")


def _tool_result(block: Json, field: str) -> tuple[Json, list[Json]]:
    """One ``tool`` message, plus image parts that must travel in a user message."""
    tool_use_id = block.get("tool_use_id")
    if not isinstance(tool_use_id, str):
        raise TranslationError("tool_result needs a string 'tool_use_id'", f"{field}.tool_use_id")
    content = block.get("content", "")
    images: list[Json] = []
    if isinstance(content, list):
        for index, inner in enumerate(content):
            if isinstance(inner, dict) and inner.get("type") == "image":
                images.append(_image_part(inner, f"{field}.content.{index}"))
    text = _text_of(content, f"{field}.content") if content is not None else ""
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": tool_use_id, "content": text}, images


def _collapse(parts: list[Json]) -> str | list[Json]:
    """Plain text parts become one string: the widest-supported OpenAI content shape."""
    if all(part["type"] == "text" for part in parts):
        return "\n\n".join(part["text"] for part in parts)
    return parts


def _user_message(content: Any, field: str) -> list[Json]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    if not isinstance(content, list):
        raise TranslationError("must be a string or a list of content blocks", field)
    tool_messages: list[Json] = []
    parts: list[Json] = []
    result_images: list[Json] = []
    for index, block in enumerate(content):
        where = f"{field}.{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": _text_of([block], field)})
        elif kind == "image":
            parts.append(_image_part(block, where))
        elif kind == "document":
            parts.append(_document_part(block, where))
        elif kind == "tool_result":
            message, images = _tool_result(block, where)
            tool_messages.append(message)
            result_images.extend(images)
        elif kind in ("thinking", "redacted_thinking", "search_result", "container_upload"):
            continue
        else:
            raise TranslationError(
                f"unsupported content block type {kind!r} in a user message", f"{where}.type"
            )
    messages = list(tool_messages)
    if result_images:
        messages.append(
            {
                "role": "user",
                "content": [{"type": "text", "text": "Images returned by the tool:"}, *result_images],
            }
        )
    if parts:
        messages.append({"role": "user", "content": _collapse(parts)})
    return messages


def _assistant_message(content: Any, field: str, tool_names: ToolNameMap) -> list[Json]:
    if isinstance(content, str):
        return [{"role": "assistant", "content": content}]
    if not isinstance(content, list):
        raise TranslationError("must be a string or a list of content blocks", field)
    texts: list[str] = []
    tool_calls: list[Json] = []
    for index, block in enumerate(content):
        where = f"{field}.{index}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(_text_of([block], field))
        elif kind in ("tool_use", "server_tool_use"):
            tool_calls.append(_tool_call(block, where, tool_names))
        elif kind in ("thinking", "redacted_thinking") or (
            isinstance(kind, str) and kind.endswith("_tool_result")
        ):
            continue
        else:
            raise TranslationError(
                f"unsupported content block type {kind!r} in an assistant message", f"{where}.type"
            )
    message: Json = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif message["content"] is None:
        message["content"] = ""
    return [message]


def _tool_call(block: Json, field: str, tool_names: ToolNameMap) -> Json:
    name, call_id = block.get("name"), block.get("id")
    if not isinstance(name, str) or not isinstance(call_id, str):
        raise TranslationError("tool_use needs string 'id' and 'name'", field)
    arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": tool_names.to_upstream(name), "arguments": arguments},
    }


def _messages(body: Json, tool_names: ToolNameMap) -> list[Json]:
    messages: list[Json] = []
    if body.get("system") not in (None, "", []):
        messages.append({"role": "system", "content": _text_of(body["system"], "system")})
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise TranslationError("field required (a list)", "messages")
    for index, message in enumerate(raw_messages):
        field = f"messages.{index}"
        if not isinstance(message, dict):
            raise TranslationError("must be an object", field)
        role, content = message.get("role"), message.get("content")
        if role == "user":
            messages.extend(_user_message(content, f"{field}.content"))
        elif role == "assistant":
            messages.extend(_assistant_message(content, f"{field}.content", tool_names))
        elif role == "system":  # Claude Code sends these inside messages; keep them in place
            messages.append({"role": "system", "content": _text_of(content, f"{field}.content")})
        else:
            raise TranslationError("must be 'user' or 'assistant'", f"{field}.role")
    return messages


def _tools(tools: Any, tool_names: ToolNameMap) -> list[Json]:
    if not isinstance(tools, list):
        raise TranslationError("must be a list", "tools")
    converted = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise TranslationError("must be an object", f"tools.{index}")
        if "input_schema" not in tool and tool.get("type"):  # server tools (web_search_…)
            continue
        name = tool.get("name")
        if not isinstance(name, str):
            raise TranslationError("tool needs a string 'name'", f"tools.{index}.name")
        function: Json = {
            "name": tool_names.to_upstream(name),
            "parameters": tool.get("input_schema") or {"type": "object"},
        }
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        converted.append({"type": "function", "function": function})
    return converted


def _tool_choice(choice: Any, tool_names: ToolNameMap) -> tuple[Any, bool]:
    """(OpenAI tool_choice or None, parallel tool calls disabled)."""
    if not isinstance(choice, dict):
        raise TranslationError("must be an object", "tool_choice")
    kind = choice.get("type")
    no_parallel = choice.get("disable_parallel_tool_use") is True
    if kind == "auto":
        return "auto", no_parallel
    if kind == "any":
        return "required", no_parallel
    if kind == "none":
        return "none", False
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": tool_names.to_upstream(choice["name"])}}, no_parallel
    raise TranslationError("type must be auto, any, tool (with name) or none", "tool_choice.type")


def _sampling(body: Json, out: Json, reasoning: bool) -> None:
    out["max_completion_tokens" if reasoning else "max_tokens"] = body["max_tokens"]
    if isinstance(body.get("stop_sequences"), list) and body["stop_sequences"]:
        out["stop"] = body["stop_sequences"]
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    thinking = body.get("thinking")
    if reasoning and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int):
            out["reasoning_effort"] = reasoning_effort(budget)


def anthropic_to_openai_request(
    body: Json, *, upstream_model: str, tool_names: ToolNameMap, reasoning_model: bool | None = None
) -> Json:
    """Translate a validated Anthropic Messages body; raises TranslationError on bad shape."""
    reasoning = is_reasoning_model(upstream_model) if reasoning_model is None else reasoning_model
    out: Json = {"model": upstream_model, "messages": _messages(body, tool_names)}
    _sampling(body, out, reasoning)
    tools = _tools(body["tools"], tool_names) if body.get("tools") else []
    if tools:
        out["tools"] = tools
    if body.get("tool_choice") is not None and tools:
        choice, no_parallel = _tool_choice(body["tool_choice"], tool_names)
        out["tool_choice"] = choice
        if no_parallel:
            out["parallel_tool_calls"] = False
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out
