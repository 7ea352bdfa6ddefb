"""Anthropic Messages request → OpenAI Chat Completions request (pure: dict in, dict out).

Only fields with an OpenAI meaning are carried over; Anthropic-only fields
(``top_k``, ``output_config``, ``context_management``, ``container``, ``mcp_servers``,
``service_tier``, ``thinking: adaptive``, every ``cache_control`` …) are dropped
silently, and nothing the client did not send is invented.
"""

import hashlib
import re
from typing import Any

from routing.translation.anthropic_messages import openai_messages
from routing.translation.errors import TranslationError
from routing.translation.provider_state import PLAIN_OPENAI, ProviderQuirks
from routing.translation.shapes import (
    JSONObject,
    optional_str,
    require_int,
    require_list,
    require_number,
    require_object,
    require_str,
)
from routing.translation.tool_names import ToolNameMap

# OpenAI reasoning models: o1, o3, o4 (with suffixes such as -mini, -pro, dates) and
# the gpt-5 family, except the non-reasoning ``gpt-5…-chat`` variants. A provider
# prefix such as ``openai/`` (OpenRouter) is ignored.
_REASONING_MODEL = re.compile(r"^(o[134]([-_.].*)?|gpt-5(?!.*-chat).*)$")

# thinking.budget_tokens → reasoning_effort. Anthropic's minimum budget is 1024 and
# Claude Code's "think" / "think hard" / "ultrathink" budgets are about 4k, 10k and 32k,
# so the bands put those on low, medium and high:
#   budget < 4096 → low;  4096 ≤ budget < 16384 → medium;  budget ≥ 16384 → high.
LOW_EFFORT_BELOW = 4096
MEDIUM_EFFORT_BELOW = 16384

OPENAI_USER_MAX_LENGTH = 64

_TOOL_CHOICE_MODES = {"auto": "auto", "any": "required", "none": "none"}


def is_reasoning_model(model: str) -> bool:
    """True for OpenAI reasoning models, which take ``max_completion_tokens``."""
    return bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1].lower()))


def reasoning_effort_for_budget(budget_tokens: int) -> str:
    if budget_tokens < LOW_EFFORT_BELOW:
        return "low"
    if budget_tokens < MEDIUM_EFFORT_BELOW:
        return "medium"
    return "high"


def _function_tool(tool: JSONObject, field: str, tool_names: ToolNameMap) -> JSONObject:
    name = require_str(tool.get("name"), f"{field}.name")
    schema = tool.get("input_schema")
    parameters = (
        {"type": "object", "properties": {}}
        if schema is None
        else dict(require_object(schema, f"{field}.input_schema"))
    )
    # "$schema" is a meta annotation (Claude Code declares draft 2020-12); some
    # OpenAI-compatible servers reject unknown top-level keywords, and no model needs it.
    parameters.pop("$schema", None)
    function: JSONObject = {"name": tool_names.to_upstream(name), "parameters": parameters}
    description = optional_str(tool.get("description"), f"{field}.description")
    if description is not None:
        function["description"] = description
    return {"type": "function", "function": function}


def _tools(value: Any, tool_names: ToolNameMap) -> list[JSONObject]:
    tools = []
    for index, raw in enumerate(require_list(value, "tools")):
        tool = require_object(raw, f"tools.{index}")
        kind = tool.get("type")
        if kind is not None and kind != "custom":
            continue  # a server tool (web_search_…, bash_…): runs on Anthropic's side only
        tools.append(_function_tool(tool, f"tools.{index}", tool_names))
    return tools


def _tool_choice(value: Any, tool_names: ToolNameMap) -> tuple[str | JSONObject, bool]:
    """(OpenAI ``tool_choice``, whether parallel tool calls were disabled)."""
    choice = require_object(value, "tool_choice")
    kind = choice.get("type")
    parallel_disabled = choice.get("disable_parallel_tool_use") is True
    if isinstance(kind, str) and kind in _TOOL_CHOICE_MODES:
        return _TOOL_CHOICE_MODES[kind], parallel_disabled
    if kind == "tool":
        name = require_str(choice.get("name"), "tool_choice.name")
        return {"type": "function", "function": {"name": tool_names.to_upstream(name)}}, parallel_disabled
    raise TranslationError("tool_choice type must be 'auto', 'any', 'tool' or 'none'", "tool_choice.type")


def _apply_tools(body: JSONObject, out: JSONObject, tool_names: ToolNameMap) -> None:
    tools = _tools(body["tools"], tool_names) if body.get("tools") is not None else []
    choice = body.get("tool_choice")
    parsed_choice = _tool_choice(choice, tool_names) if choice is not None else None
    if not tools:
        return  # OpenAI rejects tool_choice and parallel_tool_calls without tools
    out["tools"] = tools
    if parsed_choice is not None:
        out["tool_choice"] = parsed_choice[0]
        if parsed_choice[1]:
            out["parallel_tool_calls"] = False


def _reasoning_effort(value: Any) -> str | None:
    thinking = require_object(value, "thinking")
    if thinking.get("type") != "enabled":
        return None  # disabled, or "adaptive" (the model decides; OpenAI's default does that)
    return reasoning_effort_for_budget(require_int(thinking.get("budget_tokens"), "thinking.budget_tokens"))


def _apply_sampling(body: JSONObject, out: JSONObject) -> None:
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = require_number(body[name], name)
    if body.get("stop_sequences") is not None:
        stops = require_list(body["stop_sequences"], "stop_sequences")
        for index, stop in enumerate(stops):
            require_str(stop, f"stop_sequences.{index}")
        if stops:
            out["stop"] = stops


def openai_user(user_id: str) -> str:
    """``metadata.user_id`` as an OpenAI ``user``, which OpenAI caps at 64 characters.

    Claude Code sends a JSON object of about 150 characters, which OpenAI answers with
    400 "Invalid 'user': string too long". A longer id is replaced by its sha256 hex
    digest (exactly 64 characters): still a stable per-user identifier.
    """
    if len(user_id) <= OPENAI_USER_MAX_LENGTH:
        return user_id
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


def _apply_metadata(body: JSONObject, out: JSONObject) -> None:
    if body.get("metadata") is None:
        return
    metadata = require_object(body["metadata"], "metadata")
    user_id = optional_str(metadata.get("user_id"), "metadata.user_id")
    if user_id:
        out["user"] = openai_user(user_id)


def anthropic_to_openai_request(
    body: JSONObject,
    *,
    upstream_model: str,
    tool_names: ToolNameMap,
    reasoning_model: bool | None = None,
    quirks: ProviderQuirks = PLAIN_OPENAI,
) -> JSONObject:
    """Translate a Messages request body; raises ``TranslationError`` on a bad shape.

    ``reasoning_model`` overrides the name-based detection (``is_reasoning_model``):
    reasoning models get ``max_completion_tokens`` and, when thinking is enabled,
    ``reasoning_effort``. ``quirks`` adds what the serving provider needs back from
    earlier turns (``routing.translation.provider_state``).
    """
    body = require_object(body, "body")
    reasoning = is_reasoning_model(upstream_model) if reasoning_model is None else reasoning_model
    out: JSONObject = {"model": upstream_model, "messages": openai_messages(body, tool_names, quirks)}
    if body.get("max_tokens") is not None:
        # Forwarded as given, never clamped: the client chose it, the provider enforces it.
        max_tokens = require_int(body["max_tokens"], "max_tokens")
        out["max_completion_tokens" if reasoning else "max_tokens"] = max_tokens
    _apply_sampling(body, out)
    _apply_metadata(body, out)
    _apply_tools(body, out, tool_names)
    if body.get("thinking") is not None:
        effort = _reasoning_effort(body["thinking"])
        if effort is not None and reasoning:
            out["reasoning_effort"] = effort
    if body.get("stream") is True:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out
