"""OpenAI Chat Completions request → Anthropic Messages request (pure: dict in, dict out).

The mirror of ``anthropic_request``. Fields are mapped where Anthropic has the same
meaning, dropped where they are only hints with no Anthropic counterpart (``seed``,
``store``, ``metadata``, ``service_tier``, ``verbosity``, ``prediction``,
``prompt_cache_key``, ``tool.function.strict``…), and refused with a 400 naming the field
where Anthropic cannot do what was asked (``n`` > 1, log probabilities, logit bias,
penalties, audio, web search options, the legacy functions API). Nothing the client did
not send is invented, except ``max_tokens``, which Anthropic requires.
"""

import json
from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.openai_messages import LEGACY_FUNCTION_HINT, anthropic_messages, system_prompt
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

# reasoning_effort → thinking.budget_tokens. Each budget falls in the band the Anthropic
# door maps back to the same effort (routing.translation.anthropic_request: below 4096
# low, below 16384 medium, else high), so an effort survives a round trip; 1024 is
# Anthropic's smallest budget. "max" leaves the default 4096 answer tokens under 32000,
# the smallest output limit of Claude's thinking models. "none" and "minimal" mean no
# extended thinking.
THINKING_BUDGETS = {"low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 27904}
NO_THINKING_EFFORTS = frozenset({"none", "minimal"})
MIN_THINKING_BUDGET = 1024
JSON_INSTRUCTION = "Answer with a single JSON object and nothing else: no prose, no Markdown code fences."

_TOOL_CHOICE_MODES = {"auto": "auto", "required": "any", "none": "none"}
_UNSUPPORTED = "is not supported by Anthropic-format providers"


def _is_set(value: Any) -> bool:
    """Present with a meaning: not absent, null, false, zero or empty."""
    return value not in (None, False, 0, "", [], {})


def _refuse_untranslatable(body: JSONObject) -> None:
    n = body.get("n")
    if n is not None and n != 1:
        raise TranslationError("values other than 1 are not supported by Anthropic-format providers", "n")
    for name in ("logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "audio"):
        if _is_set(body.get(name)):
            raise TranslationError(_UNSUPPORTED, name)
    if body.get("web_search_options") is not None:
        raise TranslationError(_UNSUPPORTED, "web_search_options")
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        raise TranslationError("audio output " + _UNSUPPORTED, "modalities")
    for name in ("functions", "function_call"):
        if body.get(name) is not None:
            raise TranslationError(LEGACY_FUNCTION_HINT, name)


def _tool(raw: Any, field: str, tool_names: ToolNameMap) -> JSONObject:
    tool = require_object(raw, field)
    if tool.get("type", "function") != "function":
        raise TranslationError("only function tools can be translated", f"{field}.type")
    function = require_object(tool.get("function"), f"{field}.function")
    name = require_str(function.get("name"), f"{field}.function.name")
    parameters = function.get("parameters")
    schema = (
        {"type": "object", "properties": {}}
        if parameters is None
        else require_object(parameters, f"{field}.function.parameters")
    )
    out: JSONObject = {"name": tool_names.to_upstream(name), "input_schema": schema}
    description = optional_str(function.get("description"), f"{field}.function.description")
    if description:
        out["description"] = description
    return out


def _tool_choice(value: Any, tool_names: ToolNameMap) -> JSONObject:
    if isinstance(value, str):
        if value not in _TOOL_CHOICE_MODES:
            raise TranslationError("must be 'auto', 'none', 'required' or a function", "tool_choice")
        return {"type": _TOOL_CHOICE_MODES[value]}
    choice = require_object(value, "tool_choice")
    if choice.get("type") != "function":
        raise TranslationError("only function tool choices can be translated", "tool_choice.type")
    function = require_object(choice.get("function"), "tool_choice.function")
    name = require_str(function.get("name"), "tool_choice.function.name")
    return {"type": "tool", "name": tool_names.to_upstream(name)}


def _apply_tools(body: JSONObject, out: JSONObject, tool_names: ToolNameMap) -> None:
    raw_tools = body.get("tools")
    tools = [] if raw_tools is None else require_list(raw_tools, "tools")
    translated = [_tool(tool, f"tools.{index}", tool_names) for index, tool in enumerate(tools)]
    choice = _tool_choice(body["tool_choice"], tool_names) if body.get("tool_choice") is not None else None
    if not translated:
        return  # without tools a tool choice means nothing (and Anthropic would refuse it)
    out["tools"] = translated
    if body.get("parallel_tool_calls") is False:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":  # ``none`` takes no parallelism flag
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        out["tool_choice"] = choice


def _requested_limit(body: JSONObject) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):  # the newer name wins
        if body.get(name) is not None:
            limit = require_int(body[name], name)
            if limit < 1:
                raise TranslationError("must be at least 1", name)
            return limit
    return None


def _thinking_budget(body: JSONObject) -> int | None:
    effort = body.get("reasoning_effort")
    if effort is None or effort in NO_THINKING_EFFORTS:
        return None
    if not isinstance(effort, str) or effort not in THINKING_BUDGETS:
        raise TranslationError(
            "must be 'none', 'minimal', 'low', 'medium', 'high', 'xhigh' or 'max'", "reasoning_effort"
        )
    return THINKING_BUDGETS[effort]


def _apply_limits(body: JSONObject, out: JSONObject, default_max_tokens: int) -> None:
    """``max_tokens`` and ``thinking``. OpenAI counts reasoning inside
    ``max_completion_tokens`` and Anthropic counts the thinking budget inside
    ``max_tokens``, so a client's limit is kept and the budget fitted under it; without
    a limit the answer gets ``default_max_tokens`` on top of the budget."""
    limit = _requested_limit(body)
    budget = _thinking_budget(body)
    if budget is None:
        out["max_tokens"] = limit or default_max_tokens
        return
    if limit is None:
        out["max_tokens"] = default_max_tokens + budget
    elif limit <= MIN_THINKING_BUDGET:
        name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
        raise TranslationError(
            f"must be above {MIN_THINKING_BUDGET} with reasoning_effort "
            "(Anthropic's smallest thinking budget)",
            name,
        )
    else:
        out["max_tokens"] = limit
        budget = min(budget, limit - 1)
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _apply_sampling(body: JSONObject, out: JSONObject) -> None:
    # temperature goes as sent: Anthropic's range is 0-1, OpenAI's 0-2, and the provider's
    # own 400 says so more exactly than a guess at rescaling would.
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = require_number(body[name], name)
    if body.get("top_k") is not None:  # not OpenAI's, but OpenAI-compatible clients send it
        out["top_k"] = require_int(body["top_k"], "top_k")
    stop = body.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else require_list(stop, "stop")
        for index, value in enumerate(stops):
            require_str(value, f"stop.{index}")
        if stops:
            out["stop_sequences"] = stops


def _apply_user(body: JSONObject, out: JSONObject) -> None:
    for name in ("user", "safety_identifier"):  # safety_identifier is OpenAI's newer name
        user = optional_str(body.get(name), name)
        if user:
            out["metadata"] = {"user_id": user}
            return


def _format_instruction(value: Any) -> str | None:
    """``response_format`` as a system instruction (Anthropic has no JSON mode): JSON is
    asked for, and the schema shown, but not enforced by the provider."""
    response_format = require_object(value, "response_format")
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JSON_INSTRUCTION
    if kind == "json_schema":
        spec = require_object(response_format.get("json_schema"), "response_format.json_schema")
        schema = require_object(spec.get("schema", {}), "response_format.json_schema.schema")
        schema_text = json.dumps(schema, ensure_ascii=False)
        return f"{JSON_INSTRUCTION} It must conform to this JSON Schema:\n{schema_text}"
    raise TranslationError("must be 'text', 'json_object' or 'json_schema'", "response_format.type")


def openai_to_anthropic_request(
    body: JSONObject, *, upstream_model: str, tool_names: ToolNameMap, default_max_tokens: int
) -> JSONObject:
    """Translate a Chat Completions body; raises ``TranslationError`` on a bad or
    untranslatable request. ``default_max_tokens`` is used when the client sets no limit."""
    body = require_object(body, "body")
    _refuse_untranslatable(body)
    system, messages = anthropic_messages(body.get("messages"), tool_names)
    if body.get("response_format") is not None:
        instruction = _format_instruction(body["response_format"])
        if instruction:
            system = [*system, {"type": "text", "text": instruction}]
    out: JSONObject = {"model": upstream_model, "messages": messages}
    prompt = system_prompt(system)
    if prompt is not None:
        out["system"] = prompt
    _apply_limits(body, out, default_max_tokens)
    _apply_sampling(body, out)
    _apply_user(body, out)
    _apply_tools(body, out, tool_names)
    if body.get("stream") is True:
        out["stream"] = True
    return out
