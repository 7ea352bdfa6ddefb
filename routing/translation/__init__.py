"""Pure translation between the Anthropic Messages and OpenAI Chat Completions dialects.

Dicts in, dicts out: no I/O, no Django, no asyncio, so the view, the stream relay and
the tests all use the same code.
"""

from routing.translation.anthropic_request import (
    anthropic_to_openai_request,
    is_reasoning_model,
    reasoning_effort_for_budget,
)
from routing.translation.anthropic_response import openai_to_anthropic_response
from routing.translation.anthropic_stream import OpenAIToAnthropicStream, StreamEvent
from routing.translation.errors import TranslationError
from routing.translation.provider_state import PLAIN_OPENAI, ProviderQuirks
from routing.translation.tool_arguments import parse_tool_arguments
from routing.translation.tool_names import ToolNameMap, build_tool_name_map, sanitize_tool_name

__all__ = [
    "PLAIN_OPENAI",
    "OpenAIToAnthropicStream",
    "ProviderQuirks",
    "StreamEvent",
    "ToolNameMap",
    "TranslationError",
    "anthropic_to_openai_request",
    "build_tool_name_map",
    "is_reasoning_model",
    "openai_to_anthropic_response",
    "parse_tool_arguments",
    "reasoning_effort_for_budget",
    "sanitize_tool_name",
]
