"""What the Chat and Anthropic translations of a Responses request share. Pure.

Item kinds, the tools a request declares (function tools, namespace tools flattened by
``FlatToolNames``, hosted tools dropped or refused), ``tool_choice``, content parts in
Chat Completions' shape (the Anthropic side turns those into blocks with the chat
door's own ``openai_content``), and the fields that need a stored response, which no
translated provider has.
"""

from dataclasses import dataclass, field
from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.responses_tools import FlatToolNames
from routing.translation.shapes import JSONObject

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
SYSTEM_ROLES = frozenset({"system", "developer"})

# Tools that run on OpenAI's side (or need a client protocol Chat and Anthropic lack:
# ``custom`` tools take free-form text, not JSON arguments). Dropped or refused.
HOSTED_TOOL_TYPES = frozenset(
    {
        "web_search",
        "web_search_2025_08_26",
        "web_search_preview",
        "web_search_preview_2025_03_11",
        "file_search",
        "code_interpreter",
        "computer",
        "computer_use",
        "computer_use_preview",
        "image_generation",
        "mcp",
        "local_shell",
        "shell",
        "apply_patch",
        "custom",
        "tool_search",
        "programmatic_tool_calling",
    }
)
# Items a hosted tool left in a conversation (an earlier turn served by OpenAI). They
# are valid input; a translated provider never ran them, so they are left out.
HOSTED_CALL_ITEM_TYPES = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "computer_call",
        "computer_call_output",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "tool_search_call",
        "tool_search_output",
        "additional_tools",
        "compaction",
        "compaction_trigger",
        "program",
        "program_output",
    }
)
# The fields each client-run call item must carry (checked by the validation).
CALL_ITEM_FIELDS = {
    "function_call": ("call_id", "name", "arguments"),
    "function_call_output": ("call_id", "output"),
    "custom_tool_call": ("call_id", "name", "input"),
    "custom_tool_call_output": ("call_id", "output"),
}
# Fields that point at state kept by OpenAI (stored responses, conversations, stored
# prompts, background runs): a translated provider has none, and vandamme keeps no
# response store, so the client must send the whole conversation in ``input``.
STATEFUL_FIELDS = ("previous_response_id", "conversation", "prompt")


@dataclass
class TranslatedRequest:
    """A provider request translated from a Responses body, and what the answer side needs.

    ``tool_names`` restores ``<namespace>__<name>`` calls to namespace calls;
    ``dropped_hosted_tools`` lists the hosted tool types left out (for the log and the
    response header).
    """

    body: JSONObject
    tool_names: FlatToolNames = field(default_factory=FlatToolNames)
    dropped_hosted_tools: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ToolSpec:
    """One function the provider is told about, under its flat name."""

    name: str
    description: str | None
    parameters: JSONObject
    strict: bool | None


@dataclass
class DeclaredTools:
    specs: list[ToolSpec]
    names: FlatToolNames
    dropped: list[str]


def item_type(item: JSONObject) -> str | None:
    """An item's type; a bare ``{"role", "content"}`` (the SDK's easy input) is a message."""
    kind = item.get("type")
    if kind is None and "role" in item:
        return "message"
    return kind if isinstance(kind, str) else None


def input_items(body: JSONObject) -> list[JSONObject]:
    """``input`` as items: a bare string is one user message."""
    value = body.get("input")
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return value if isinstance(value, list) else []


def refuse_stateful(body: JSONObject, provider_format: str) -> None:
    for name in STATEFUL_FIELDS:
        if body.get(name) is not None:
            raise TranslationError(
                f"{name} is not supported for provider format {provider_format!r} (vandamme keeps no "
                "stored responses); send the conversation in `input` (store: false)",
                name,
            )
    if body.get("background") is True:
        raise TranslationError(
            f"background responses are not supported for provider format {provider_format!r}", "background"
        )
    for index, item in enumerate(input_items(body)):
        if item_type(item) == "item_reference":
            raise TranslationError(
                f"item references need stored responses, not supported for provider format "
                f"{provider_format!r}; send the item itself",
                f"input.{index}",
            )


def _parameters(tool: JSONObject) -> JSONObject:
    parameters = tool.get("parameters")
    if not isinstance(parameters, dict):
        return {"type": "object", "properties": {}}
    # "$schema" is a meta annotation some OpenAI-compatible servers reject; no model needs it.
    return {key: value for key, value in parameters.items() if key != "$schema"}


def _spec(tool: JSONObject, name: str, prefix: str | None = None) -> ToolSpec:
    description = tool.get("description")
    texts = [text for text in (prefix, description) if isinstance(text, str) and text]
    strict = tool.get("strict")
    return ToolSpec(
        name=name,
        description="\n\n".join(texts) or None,
        parameters=_parameters(tool),
        strict=strict if isinstance(strict, bool) else None,
    )


def _refuse_or_drop(kind: str, field: str, refuse: bool, dropped: list[str]) -> None:
    if refuse:
        hint = (
            " (custom tools take free-form text; declare a function tool instead)" if kind == "custom" else ""
        )
        raise TranslationError(f"tool type {kind[:40]!r} cannot be run by this provider{hint}", field)
    if kind not in dropped:
        dropped.append(kind)


def declared_tools(body: JSONObject, *, refuse_hosted_tools: bool) -> DeclaredTools:
    """The function tools of a validated body, namespace tools flattened; hosted tools
    (and ``custom`` ones) dropped and listed, or refused naming ``tools.N``."""
    declared = DeclaredTools(specs=[], names=FlatToolNames(), dropped=[])
    raw_tools = body.get("tools")
    for index, tool in enumerate(raw_tools if isinstance(raw_tools, list) else []):
        kind = tool["type"]
        if kind == "function":
            declared.specs.append(_spec(tool, tool["name"]))
        elif kind == "namespace":
            namespace = tool["name"]
            for inner_index, inner in enumerate(tool["tools"]):
                if inner.get("type", "function") != "function":
                    _refuse_or_drop(
                        inner["type"],
                        f"tools.{index}.tools.{inner_index}",
                        refuse_hosted_tools,
                        declared.dropped,
                    )
                    continue
                flat = declared.names.flatten(namespace, inner["name"])
                declared.specs.append(_spec(inner, flat, tool.get("description")))
        else:
            _refuse_or_drop(kind, f"tools.{index}", refuse_hosted_tools, declared.dropped)
    return declared


def call_name(item: JSONObject, names: FlatToolNames) -> str:
    """The flat name a ``function_call`` item (or a function tool choice) goes up under."""
    namespace = item.get("namespace")
    if isinstance(namespace, str) and namespace:
        return names.flatten(namespace, item["name"])
    name: str = item["name"]
    return name


def tool_choice(body: JSONObject, declared: DeclaredTools) -> tuple[str, str | None] | None:
    """(``auto`` | ``none`` | ``required`` | ``function``, function name) or None.

    ``allowed_tools`` keeps its mode only (every declared tool stays offered); a choice
    of a hosted or custom tool that was dropped means nothing here and is left out.
    """
    value = body.get("tool_choice")
    if value is None or not declared.specs:
        return None  # without tools a choice means nothing (and both dialects refuse it)
    if isinstance(value, str):
        return value, None
    kind = value["type"]
    if kind == "function":
        name = call_name(value, declared.names)
        if name not in {spec.name for spec in declared.specs}:
            # Else it goes upstream and comes back as the provider's 400 (or a 502 when the
            # provider ignores it and answers): the client's mistake, named as OpenAI does.
            raise TranslationError("names a function that is not among tools", "tool_choice.name")
        return "function", name
    if kind == "allowed_tools":
        return value["mode"], None
    return None


def requested_effort(body: JSONObject) -> str | None:
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    return effort if isinstance(effort, str) else None


def json_format(body: JSONObject) -> JSONObject | None:
    """``text.format`` when it asks for JSON (``json_object`` or ``json_schema``)."""
    text = body.get("text")
    text_format = text.get("format") if isinstance(text, dict) else None
    if isinstance(text_format, dict) and text_format.get("type") in ("json_object", "json_schema"):
        return text_format
    return None


def chat_part(part: JSONObject, field: str) -> JSONObject:
    """One Responses content part as a Chat Completions content part."""
    kind = part["type"]
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": part["text"]}
    if kind == "refusal":
        return {"type": "text", "text": part["refusal"]}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise TranslationError(
                "uploaded file ids cannot be sent to this provider; send image_url (an http(s) or data: URL)",
                f"{field}.file_id",
            )
        image: JSONObject = {"url": url}
        if isinstance(part.get("detail"), str):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    file_data = part.get("file_data")
    if not isinstance(file_data, str):
        name = "file_id" if isinstance(part.get("file_id"), str) else "file_url"
        raise TranslationError(
            "uploaded file ids and file URLs cannot be sent to this provider; send file_data (a data: URL)",
            f"{field}.{name}",
        )
    file: JSONObject = {"file_data": file_data}
    if isinstance(part.get("filename"), str):
        file["filename"] = part["filename"]
    return {"type": "file", "file": file}


def chat_parts(content: Any, field: str) -> list[JSONObject]:
    """Validated content (a string or parts) as Chat Completions parts."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [chat_part(part, f"{field}.{index}") for index, part in enumerate(content)]


def plain_text(parts: list[JSONObject], field: str) -> str:
    """Text-only content (system, developer and assistant messages) as one string."""
    texts = []
    for index, part in enumerate(parts):
        if part["type"] != "text":
            raise TranslationError("only text parts are allowed in this message", f"{field}.{index}.type")
        texts.append(part["text"])
    return "\n\n".join(text for text in texts if text)
