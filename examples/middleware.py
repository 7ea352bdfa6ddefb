"""An example middleware module: two classes that use all three hooks, in both dialects.

Put a module like this one on the gateway's PYTHONPATH and name its classes in the
configuration (examples/middleware.toml), the admin (a provider's or a team's
"middleware" field) or the REST API::

    [defaults]
    middleware = [
      { path = "examples.middleware.SystemNote", options = { text = "Answer in English." } },
      { path = "examples.middleware.AnswerFooter", options = { text = " (via us)" }, on_error = "pass" },
    ]

Request hooks see the body in the provider's dialect (``context.wire``); answer hooks
see what the client gets, in its dialect (``context.door``).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from routing.middleware import HookContext, Middleware, StreamEvent


class SystemNote(Middleware):
    """Request hook: adds ``options["text"]`` to the system prompt before it goes upstream."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.text = str(options["text"])  # a KeyError here: the chain reports the bad options

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        if context.wire == "chat_completions":
            note = {"role": "system", "content": self.text}
            return {**body, "messages": [note, *body.get("messages", [])]}
        if context.wire == "anthropic_messages":
            system = body.get("system")
            if isinstance(system, list):
                return {**body, "system": [*system, {"type": "text", "text": self.text}]}
            return {**body, "system": f"{system}\n\n{self.text}" if system else self.text}
        return body  # another dialect (Responses): left as it is


class AnswerFooter(Middleware):
    """Answer hooks: appends ``options["text"]`` to every answer, whole or streamed, and
    drops Anthropic's ``ping`` events from streams."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.text = str(options["text"])

    async def on_response(self, payload: dict[str, Any], context: HookContext) -> dict[str, Any]:
        if context.door == "messages":
            return {**payload, "content": [*payload.get("content", []), {"type": "text", "text": self.text}]}
        if context.door == "chat_completions":
            for choice in payload.get("choices", []):
                message = choice.get("message") or {}
                message["content"] = (message.get("content") or "") + self.text
        return payload

    async def on_stream_event(self, event: StreamEvent, context: HookContext) -> Iterable[StreamEvent]:
        if context.door == "messages":
            return self._anthropic(event, context.state)
        if context.door == "chat_completions":
            return self._openai(event)
        return [event]

    def _anthropic(self, event: StreamEvent, state: dict[str, Any]) -> list[StreamEvent]:
        if event.name == "ping":
            return []  # dropped
        if event.name == "content_block_start":
            state["blocks"] = state.get("blocks", 0) + 1
        if event.name != "message_delta":
            return [event]
        index = state.get("blocks", 0)  # a new text block after the last one, then the end
        return [
            StreamEvent(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            StreamEvent(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": self.text},
                },
            ),
            StreamEvent("content_block_stop", {"type": "content_block_stop", "index": index}),
            event,
        ]

    def _openai(self, event: StreamEvent) -> list[StreamEvent]:
        choices = event.data.get("choices") or []
        if not choices or not choices[0].get("finish_reason"):
            return [event]
        footer = {
            **event.data,
            "choices": [{"index": 0, "delta": {"content": self.text}, "finish_reason": None}],
        }
        return [StreamEvent("", footer), event]  # the footer, then the chunk that finishes
