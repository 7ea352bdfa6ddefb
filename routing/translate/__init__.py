"""Pure translation between the Anthropic Messages and OpenAI Chat Completions dialects."""

from routing.translate.anthropic_request import anthropic_to_openai_request, is_reasoning_model
from routing.translate.anthropic_response import openai_to_anthropic_response, parse_tool_arguments
from routing.translate.anthropic_stream import OpenAIToAnthropicStream
from routing.translate.errors import TranslationError
from routing.translate.tool_names import ToolNameMap, build_tool_name_map

__all__ = [
    "OpenAIToAnthropicStream",
    "ToolNameMap",
    "TranslationError",
    "anthropic_to_openai_request",
    "build_tool_name_map",
    "is_reasoning_model",
    "openai_to_anthropic_response",
    "parse_tool_arguments",
]
