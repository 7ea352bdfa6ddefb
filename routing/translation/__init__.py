"""Pure translation between the Anthropic Messages and OpenAI Chat Completions dialects.

``anthropic_*`` modules serve the Anthropic front door over OpenAI-format providers,
``openai_*`` modules the OpenAI front door over Anthropic-format ones.

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
from routing.translation.openai_fields import accounted_usage, anthropic_usage
from routing.translation.openai_request import openai_to_anthropic_request
from routing.translation.openai_response import anthropic_to_openai_response
from routing.translation.openai_stream import AnthropicToOpenAIStream
from routing.translation.provider_state import PLAIN_OPENAI, ProviderQuirks
from routing.translation.tool_arguments import parse_tool_arguments
from routing.translation.tool_names import ToolNameMap, build_tool_name_map, sanitize_tool_name

__all__ = [
    "PLAIN_OPENAI",
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "ProviderQuirks",
    "StreamEvent",
    "ToolNameMap",
    "TranslationError",
    "accounted_usage",
    "anthropic_to_openai_request",
    "anthropic_to_openai_response",
    "anthropic_usage",
    "build_tool_name_map",
    "is_reasoning_model",
    "openai_to_anthropic_request",
    "openai_to_anthropic_response",
    "parse_tool_arguments",
    "reasoning_effort_for_budget",
    "sanitize_tool_name",
]
