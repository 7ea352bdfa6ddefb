"""Provider quirks as built-in middleware: on by default for their family
(``routing.middleware.builtins``), on the same chain as an operator's.

Both give an OpenAI-compatible provider, behind the Anthropic door, state that an
Anthropic client can only return in its own terms; their request hooks read it from the
client's body (``HookContext.client_body``) and put it where the provider wants it in the
translated one. Their answer side needs no hook: the translation already keeps a Gemini
signature in the ``tool_use`` id and DeepSeek's ``reasoning_content`` as thinking blocks
(``routing.translation.provider_state``).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from routing.middleware.base import HookContext, Middleware
from routing.translation.provider_state import SKIP_SIGNATURE_VALIDATION, split_tool_id, with_signature

CHAT_COMPLETIONS = "chat_completions"


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


def _client_assistant_turns(client_body: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
    messages = client_body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict) and message.get("role") == "assistant":
            yield _blocks(message)


def _tool_call_turns(body: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(assistant message, its tool calls) for each assistant message that made calls."""
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if message.get("role") == "assistant" and isinstance(calls, list) and calls:
            yield message, calls


def _translated_from_anthropic(context: HookContext) -> bool:
    return context.door == "messages" and context.wire == CHAT_COMPLETIONS


class GeminiThoughtSignatures(Middleware):
    """Gemini (2.5, 3) signs function calls and answers a turn that returns a call
    without its signature with a 400. The signature travelled through the Anthropic
    client inside the ``tool_use`` id (``{id}_vdmts_{signature}``); it goes back as
    ``extra_content.google.thought_signature`` on the call, and a call list whose first
    call has none (history from another model) gets Google's validator stand-in there."""

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        if not _translated_from_anthropic(context):
            return body  # an OpenAI client sends extra_content back itself
        signatures: dict[str, str] = {}
        for blocks in _client_assistant_turns(context.client_body):
            for block in blocks:
                if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    call_id, signature = split_tool_id(block["id"])
                    if signature:
                        signatures[call_id] = signature
        for message, calls in _tool_call_turns(body):
            signed = [
                with_signature(call, signatures[call["id"]]) if call.get("id") in signatures else call
                for call in calls
            ]
            if calls[0].get("id") not in signatures:
                signed[0] = with_signature(signed[0], SKIP_SIGNATURE_VALIDATION)
            message["tool_calls"] = signed
        return body


class DeepSeekReasoningContent(Middleware):
    """DeepSeek's thinking mode wants its ``reasoning_content`` back on every assistant
    turn that made tool calls (a missing one is a 400; even empty, the field must be
    there) and never on a plain answer turn. It came to the client as thinking blocks;
    the turn's thinking text goes back on its tool-call message."""

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        if not _translated_from_anthropic(context):
            return body
        thinking_by_call: dict[str, str] = {}
        for blocks in _client_assistant_turns(context.client_body):
            texts = [
                b["thinking"]
                for b in blocks
                if b.get("type") == "thinking" and isinstance(b.get("thinking"), str)
            ]
            for block in blocks:
                if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                    thinking_by_call[split_tool_id(block["id"])[0]] = "\n\n".join(texts)
        for message, calls in _tool_call_turns(body):
            message["reasoning_content"] = thinking_by_call.get(str(calls[0].get("id")), "")
        return body
