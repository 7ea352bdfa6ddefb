"""Responses API request → Anthropic Messages request (pure: dict in, dict out).

- ``instructions`` and developer/system items, wherever they stand, become the
  top-level ``system`` text in their order (Anthropic has no system turns);
- consecutive assistant-side items (``reasoning``, assistant messages,
  ``function_call``) make ONE assistant turn, blocks in item order: a reasoning item
  whose ``encrypted_content`` holds ``{"anthropic": block}`` puts that thinking or
  redacted_thinking block back byte for byte (signature included), so a tool loop keeps
  its signed thinking; other reasoning state is left out (Anthropic cannot verify it);
- consecutive user-side items (user messages, ``function_call_output``) make one user
  turn, ``tool_result`` blocks first and in order, as Anthropic requires.

Fields: ``max_output_tokens`` → ``max_tokens`` (``default_max_tokens`` when absent,
which Anthropic requires); ``reasoning.effort`` → ``thinking`` with the chat door's
budgets (``openai_request.THINKING_BUDGETS``; none/minimal: no thinking), fitted under
the client's limit as the chat door fits them; ``text.format`` JSON → a system
instruction, as the chat door treats ``response_format`` (asked, not enforced);
``parallel_tool_calls: false`` → ``disable_parallel_tool_use``; ``user`` /
``safety_identifier`` → ``metadata.user_id``. Dropped, as for Chat providers (see
``responses_request``): ``store``, ``include``, ``reasoning.summary``, ``metadata``,
``prompt_cache_key``, ``client_metadata``, ``truncation``, ``service_tier``,
``max_tool_calls``, ``top_logprobs``, ``text.verbosity``.
"""

import json
from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.openai_content import user_block
from routing.translation.openai_request import (
    JSON_INSTRUCTION,
    MIN_THINKING_BUDGET,
    NO_THINKING_EFFORTS,
    THINKING_BUDGETS,
)
from routing.translation.responses_input import (
    SYSTEM_ROLES,
    DeclaredTools,
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
from routing.translation.tool_arguments import parse_tool_arguments

__all__ = ["responses_to_anthropic_request"]

PROVIDER_FORMAT = "anthropic"
_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})
_TOOL_CHOICE_TYPES = {"auto": "auto", "required": "any", "none": "none"}


def _thinking_block(item: JSONObject) -> JSONObject | None:
    state = decode_reasoning(item.get("encrypted_content"))
    block = state.get("anthropic") if state is not None else None
    if not isinstance(block, dict) or block.get("type") not in _THINKING_BLOCKS:
        return None
    if block["type"] == "thinking" and not block.get("signature"):
        # A stream cut before the block's signature_delta: Anthropic refuses an unsigned
        # thinking block, so the turn goes back without it.
        return None
    return block


def _tool_use(item: JSONObject, names: FlatToolNames) -> JSONObject:
    if item_type(item) == "custom_tool_call":
        # Free-form input from an earlier turn served by OpenAI: the nearest JSON shape.
        return {
            "type": "tool_use",
            "id": item["call_id"],
            "name": item["name"],
            "input": {"input": item["input"]},
        }
    # Lenient: the arguments are the model's own earlier output, and a 400 for a
    # malformed one would stop the client's loop for good.
    arguments = parse_tool_arguments(item["arguments"])
    return {"type": "tool_use", "id": item["call_id"], "name": call_name(item, names), "input": arguments}


def _block(part: JSONObject, field: str) -> JSONObject:
    """The Anthropic block for a chat-shaped part, errors named as the Responses part's fields
    (the chat door's parts nest them under ``image_url`` / ``file``; Responses parts do not)."""
    try:
        return user_block(part, field)
    except TranslationError as error:
        named = error.field.replace(f"{field}.image_url.url", f"{field}.image_url")
        raise TranslationError(error.message, named.replace(f"{field}.file.", f"{field}.")) from error


def _tool_result(item: JSONObject, field: str) -> JSONObject:
    block: JSONObject = {"type": "tool_result", "tool_use_id": item["call_id"]}
    output = item["output"]
    if isinstance(output, str):
        if output:
            block["content"] = output
        return block
    parts = chat_parts(output, f"{field}.output")
    blocks = [_block(part, f"{field}.output.{index}") for index, part in enumerate(parts)]
    content = [b for b in blocks if b["type"] != "text" or b["text"]]  # Anthropic refuses empty text
    if content:
        block["content"] = content
    return block


def _assistant_blocks(item: JSONObject, field: str, names: FlatToolNames) -> list[JSONObject]:
    kind = item_type(item)
    if kind == "reasoning":
        block = _thinking_block(item)
        return [block] if block is not None else []
    if kind in ("function_call", "custom_tool_call"):
        return [_tool_use(item, names)]
    text = plain_text(chat_parts(item["content"], f"{field}.content"), f"{field}.content")
    return [{"type": "text", "text": text}] if text else []


def _user_blocks(item: JSONObject, field: str) -> list[JSONObject]:
    if item_type(item) != "message":
        return [_tool_result(item, field)]
    parts = chat_parts(item["content"], f"{field}.content")
    blocks = [_block(part, f"{field}.content.{index}") for index, part in enumerate(parts)]
    return [b for b in blocks if b["type"] != "text" or b["text"]]


def _side(item: JSONObject) -> str | None:
    """Which turn an item belongs to: ``system``, ``assistant``, ``user`` or None (left out)."""
    kind = item_type(item)
    if kind == "message":
        role = item["role"]
        return "system" if role in SYSTEM_ROLES else role
    if kind in ("reasoning", "function_call", "custom_tool_call"):
        return "assistant"
    if kind in ("function_call_output", "custom_tool_call_output"):
        return "user"
    return None  # hosted-tool items: the provider never ran those tools


def _compact(turn: JSONObject) -> JSONObject:
    blocks = turn["content"]
    if turn["role"] == "user":
        blocks.sort(key=lambda block: block["type"] != "tool_result")  # stable: order kept
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": turn["role"], "content": blocks[0]["text"]}
    return turn


def _conversation(body: JSONObject, names: FlatToolNames) -> tuple[list[str], list[JSONObject]]:
    """(system texts, Anthropic turns) for the validated input items."""
    system = [body["instructions"]] if body.get("instructions") else []
    turns: list[JSONObject] = []
    for index, item in enumerate(input_items(body)):
        field = f"input.{index}"
        side = _side(item)
        if side == "system":
            text = plain_text(chat_parts(item["content"], f"{field}.content"), f"{field}.content")
            system.extend([text] if text else [])
            continue
        if side is None:
            continue
        blocks = _assistant_blocks(item, field, names) if side == "assistant" else _user_blocks(item, field)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == side:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": side, "content": blocks})
    if not turns:
        raise TranslationError("at least one user or assistant item with content is required", "input")
    return system, [_compact(turn) for turn in turns]


def _format_instruction(text_format: JSONObject) -> str:
    if text_format["type"] == "json_object":
        return JSON_INSTRUCTION
    schema_text = json.dumps(text_format["schema"], ensure_ascii=False)
    return f"{JSON_INSTRUCTION} It must conform to this JSON Schema:\n{schema_text}"


def _apply_limits(body: JSONObject, out: JSONObject, default_max_tokens: int) -> None:
    """``max_tokens`` and ``thinking``: Anthropic counts the thinking budget inside
    ``max_tokens``, so a client's limit is kept and the budget fitted under it; without
    a limit the answer gets ``default_max_tokens`` on top of the budget."""
    limit = body.get("max_output_tokens")
    effort = requested_effort(body)
    budget = None if effort is None or effort in NO_THINKING_EFFORTS else THINKING_BUDGETS[effort]
    if budget is None:
        out["max_tokens"] = limit or default_max_tokens
        return
    if limit is None:
        out["max_tokens"] = default_max_tokens + budget
    elif limit <= MIN_THINKING_BUDGET:
        raise TranslationError(
            f"must be above {MIN_THINKING_BUDGET} with reasoning.effort "
            "(Anthropic's smallest thinking budget)",
            "max_output_tokens",
        )
    else:
        out["max_tokens"] = limit
        budget = min(budget, limit - 1)
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _apply_tools(body: JSONObject, out: JSONObject, declared: DeclaredTools) -> None:
    if not declared.specs:
        return  # without tools a tool choice means nothing (and Anthropic would refuse it)
    tools = []
    for spec in declared.specs:
        tool: JSONObject = {"name": spec.name, "input_schema": spec.parameters}
        if spec.description:
            tool["description"] = spec.description
        tools.append(tool)
    out["tools"] = tools
    choice = tool_choice(body, declared)
    anthropic_choice: JSONObject | None = None
    if choice is not None:
        mode, name = choice
        anthropic_choice = (
            {"type": "tool", "name": name} if mode == "function" else {"type": _TOOL_CHOICE_TYPES[mode]}
        )
    if body.get("parallel_tool_calls") is False:
        anthropic_choice = anthropic_choice or {"type": "auto"}
        if anthropic_choice["type"] != "none":  # ``none`` takes no parallelism flag
            anthropic_choice["disable_parallel_tool_use"] = True
    if anthropic_choice is not None:
        out["tool_choice"] = anthropic_choice


def _apply_fields(body: JSONObject, out: JSONObject) -> None:
    # temperature goes as sent (Anthropic's range is 0-1): the provider's 400 is exact.
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    for name in ("user", "safety_identifier"):
        if body.get(name):
            out["metadata"] = {"user_id": body[name]}
            break
    if body.get("stream") is True:
        out["stream"] = True


def responses_to_anthropic_request(
    body: Any, *, upstream_model: str, default_max_tokens: int, refuse_hosted_tools: bool
) -> TranslatedRequest:
    """Translate a Responses body for an Anthropic-format provider (Anthropic, Bedrock,
    Vertex). Validates it first; raises ``TranslationError`` naming the field on a bad
    shape, on fields that need a stored response, and on a hosted tool when
    ``refuse_hosted_tools``."""
    validate_responses_body(body)
    refuse_stateful(body, PROVIDER_FORMAT)
    declared = declared_tools(body, refuse_hosted_tools=refuse_hosted_tools)
    system, messages = _conversation(body, declared.names)
    text_format = json_format(body)
    if text_format is not None:
        system.append(_format_instruction(text_format))
    out: JSONObject = {"model": upstream_model, "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    _apply_limits(body, out, default_max_tokens)
    _apply_fields(body, out)
    _apply_tools(body, out, declared)
    return TranslatedRequest(body=out, tool_names=declared.names, dropped_hosted_tools=declared.dropped)
