"""Responses API request → Chat Completions request (pure: dict in, dict out).

Input items become messages in their order: ``instructions`` and developer/system items
are system messages where they stand (most compatible servers know no ``developer``
role); user items are user messages; consecutive assistant-side items (``reasoning``,
assistant messages, ``function_call``) make ONE assistant message with its text and
tool calls; each ``function_call_output`` is a ``tool`` message (images it returned
follow in a user message, since tool messages hold text only). Reasoning state goes
back only where the provider takes it (``ProviderQuirks``): DeepSeek's
``reasoning_content`` on tool-call turns, OpenRouter's ``reasoning_details``; anything
else in ``encrypted_content`` (Anthropic thinking, OpenAI's own blobs) is left out.

Gemini's thought signatures travel in ``call_id`` the way the Anthropic door carries
them in tool ids (``provider_state.tool_id_with_signature``) and go back on the call.

Fields: ``max_output_tokens`` → ``max_completion_tokens`` for OpenAI reasoning models,
else ``max_tokens`` (as the Anthropic door does); ``reasoning.effort`` →
``reasoning_effort`` as asked; ``text.format`` → ``response_format``; ``user`` /
``safety_identifier`` → ``user``; ``parallel_tool_calls`` only when false (true is the
default, and some compatible servers refuse the field). Dropped on purpose: ``store``
(nothing is stored; a later ``previous_response_id`` gets a clear 400), ``include``
(reasoning state must travel in ``encrypted_content`` whatever it says: with nothing
stored, the client is the only place it can live),
``reasoning.summary``, ``text.verbosity``, ``metadata``, ``prompt_cache_key``,
``client_metadata``, ``truncation``, ``service_tier``, ``max_tool_calls``,
``top_logprobs`` (OpenAI-only hints or server-side behaviour a translated provider has
no field for).
"""

import json
from typing import Any

from routing.translation.anthropic_request import is_reasoning_model, openai_user
from routing.translation.errors import TranslationError
from routing.translation.provider_state import (
    SKIP_SIGNATURE_VALIDATION,
    ProviderQuirks,
    split_tool_id,
    with_signature,
)
from routing.translation.responses_input import (
    SYSTEM_ROLES,
    DeclaredTools,
    ToolSpec,
    TranslatedRequest,
    call_name,
    chat_parts,
    declared_tools,
    input_items,
    item_type,
    json_format,
    plain_text,
    refuse_stateful,
    requested_effort,
    tool_choice,
)
from routing.translation.responses_reasoning import decode_reasoning
from routing.translation.responses_tools import FlatToolNames
from routing.translation.responses_validation import validate_responses_body
from routing.translation.shapes import JSONObject

__all__ = ["TranslatedRequest", "responses_to_chat_request", "validate_responses_body"]

PROVIDER_FORMAT = "openai"


class _AssistantTurn:
    """The assistant-side items since the last other item: one assistant message."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls: list[tuple[JSONObject, str | None]] = []
        self.reasoning_texts: list[str] = []
        self.reasoning_details: list[Any] = []

    def message(self, quirks: ProviderQuirks) -> JSONObject | None:
        if not self.texts and not self.calls:
            return None  # a turn of reasoning alone has nothing to say
        message: JSONObject = {
            "role": "assistant",
            "content": "\n\n".join(self.texts) if self.texts else None,
        }
        if quirks.reasoning_details and self.reasoning_details:
            message["reasoning_details"] = self.reasoning_details
        if self.calls:
            message["tool_calls"] = _signed_calls(self.calls, quirks)
            if quirks.reasoning_on_tool_turns:
                # Even empty: DeepSeek's thinking mode rejects a tool-call turn without it.
                message["reasoning_content"] = "\n\n".join(self.reasoning_texts)
        return message


def _signed_calls(calls: list[tuple[JSONObject, str | None]], quirks: ProviderQuirks) -> list[JSONObject]:
    """Gemini's thought signatures back where it put them (carried in ``call_id`` as the
    Anthropic door carries them in tool ids), Google's stand-in on an unsigned first call."""
    if not quirks.thought_signatures:
        return [call for call, _ in calls]
    signed = [with_signature(call, signature) if signature else call for call, signature in calls]
    if calls[0][1] is None:
        signed[0] = with_signature(signed[0], SKIP_SIGNATURE_VALIDATION)
    return signed


def _tool_call(item: JSONObject, names: FlatToolNames) -> tuple[JSONObject, str | None]:
    call_id, signature = split_tool_id(item["call_id"])
    if item_type(item) == "custom_tool_call":
        # Free-form input from an earlier turn served by OpenAI: the nearest JSON shape.
        arguments = json.dumps({"input": item["input"]}, ensure_ascii=False)
        name: str = item["name"]
    else:
        arguments, name = item["arguments"], call_name(item, names)
    call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
    return call, signature


def _tool_messages(item: JSONObject, field: str) -> list[JSONObject]:
    call_id, _signature = split_tool_id(item["call_id"])
    parts = chat_parts(item["output"], f"{field}.output")
    texts = [part["text"] for part in parts if part["type"] == "text"]
    media = [part for part in parts if part["type"] != "text"]
    messages: list[JSONObject] = [{"role": "tool", "tool_call_id": call_id, "content": "\n".join(texts)}]
    if media:
        label = {"type": "text", "text": f"Content returned by tool call {call_id}:"}
        messages.append({"role": "user", "content": [label, *media]})
    return messages


def _user_content(parts: list[JSONObject]) -> str | list[JSONObject]:
    # A lone text part goes as a plain string: every OpenAI-compatible server accepts it.
    if len(parts) == 1 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts


def _add_reasoning(turn: _AssistantTurn, item: JSONObject) -> None:
    state = decode_reasoning(item.get("encrypted_content"))
    if state is None:
        return
    text = state.get("reasoning_content")
    if isinstance(text, str):
        turn.reasoning_texts.append(text)
    details = state.get("reasoning_details")
    if isinstance(details, list):
        turn.reasoning_details.extend(details)


def _add_to_turn(turn: _AssistantTurn, item: JSONObject, field: str, names: FlatToolNames) -> bool:
    """Add an assistant-side item to the turn; False for any other item."""
    kind = item_type(item)
    if kind == "reasoning":
        _add_reasoning(turn, item)
    elif kind in ("function_call", "custom_tool_call"):
        turn.calls.append(_tool_call(item, names))
    elif kind == "message" and item["role"] == "assistant":
        text = plain_text(chat_parts(item["content"], f"{field}.content"), f"{field}.content")
        if text:
            turn.texts.append(text)
    else:
        return False
    return True


def _other_messages(item: JSONObject, field: str) -> list[JSONObject]:
    """System, developer and user items, and tool outputs."""
    if item_type(item) != "message":
        return _tool_messages(item, field)
    parts = chat_parts(item["content"], f"{field}.content")
    if item["role"] in SYSTEM_ROLES:
        return [{"role": "system", "content": plain_text(parts, f"{field}.content")}]
    return [{"role": "user", "content": _user_content(parts)}]


def _chat_messages(body: JSONObject, names: FlatToolNames, quirks: ProviderQuirks) -> list[JSONObject]:
    messages: list[JSONObject] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    turn = _AssistantTurn()
    for index, item in enumerate(input_items(body)):
        field = f"input.{index}"
        if _add_to_turn(turn, item, field, names):
            continue
        if item_type(item) not in ("message", "function_call_output", "custom_tool_call_output"):
            continue  # hosted-tool items: the provider never ran those tools
        assistant = turn.message(quirks)
        if assistant is not None:
            messages.append(assistant)
        turn = _AssistantTurn()
        messages.extend(_other_messages(item, field))
    assistant = turn.message(quirks)
    if assistant is not None:
        messages.append(assistant)
    if not messages:
        raise TranslationError("at least one message with content is required", "input")
    return messages


def _chat_tool(spec: ToolSpec) -> JSONObject:
    function: JSONObject = {"name": spec.name, "parameters": spec.parameters}
    if spec.description is not None:
        function["description"] = spec.description
    if spec.strict is not None:
        function["strict"] = spec.strict
    return {"type": "function", "function": function}


def _apply_tools(body: JSONObject, out: JSONObject, declared: DeclaredTools) -> None:
    if not declared.specs:
        return  # OpenAI rejects tool_choice and parallel_tool_calls without tools
    out["tools"] = [_chat_tool(spec) for spec in declared.specs]
    choice = tool_choice(body, declared)
    if choice is not None:
        mode, name = choice
        out["tool_choice"] = {"type": "function", "function": {"name": name}} if mode == "function" else mode
    if body.get("parallel_tool_calls") is False:
        # Only the non-default value: true is every provider's default, and some
        # OpenAI-compatible servers refuse the field (Codex always sends true).
        out["parallel_tool_calls"] = False


def _response_format(text_format: JSONObject) -> JSONObject:
    if text_format["type"] == "json_object":
        return {"type": "json_object"}
    schema: JSONObject = {"name": text_format["name"], "schema": text_format["schema"]}
    for key in ("description", "strict"):
        if text_format.get(key) is not None:
            schema[key] = text_format[key]
    return {"type": "json_schema", "json_schema": schema}


def _apply_fields(body: JSONObject, out: JSONObject, upstream_model: str) -> None:
    if body.get("max_output_tokens") is not None:
        # Forwarded as given: the client chose it, the provider enforces it.
        name = "max_completion_tokens" if is_reasoning_model(upstream_model) else "max_tokens"
        out[name] = body["max_output_tokens"]
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    effort = requested_effort(body)
    if effort is not None:
        out["reasoning_effort"] = effort
    text_format = json_format(body)
    if text_format is not None:
        out["response_format"] = _response_format(text_format)
    for name in ("user", "safety_identifier"):  # the newer name is OpenAI's, the older the chat field
        if body.get(name):
            out["user"] = openai_user(body[name])
            break
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}


def responses_to_chat_request(
    body: Any, *, upstream_model: str, quirks: ProviderQuirks, refuse_hosted_tools: bool
) -> TranslatedRequest:
    """Translate a Responses body for an OpenAI-format (Chat Completions) provider.

    Validates it first; raises ``TranslationError`` naming the field on a bad shape, on
    fields that need a stored response, and on a hosted tool when ``refuse_hosted_tools``.
    """
    validate_responses_body(body)
    refuse_stateful(body, PROVIDER_FORMAT)
    declared = declared_tools(body, refuse_hosted_tools=refuse_hosted_tools)
    out: JSONObject = {"model": upstream_model, "messages": _chat_messages(body, declared.names, quirks)}
    _apply_fields(body, out, upstream_model)
    _apply_tools(body, out, declared)
    return TranslatedRequest(body=out, tool_names=declared.names, dropped_hosted_tools=declared.dropped)
