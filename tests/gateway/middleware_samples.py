"""Middleware the tests name by dotted path (``tests.middleware.samples.…``)."""

from collections.abc import Iterable
from typing import Any

from routing.middleware import HookContext, Middleware, StreamEvent


class ExplodesOnRequest(Middleware):
    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        raise RuntimeError("the request hook broke")


class ExplodesOnAnswer(Middleware):
    async def on_response(self, payload: dict[str, Any], context: HookContext) -> dict[str, Any]:
        raise RuntimeError("the response hook broke")

    async def on_stream_event(self, event: StreamEvent, context: HookContext) -> Iterable[StreamEvent]:
        if context.state.setdefault("seen", 0) >= 2:
            raise RuntimeError("the stream hook broke")
        context.state["seen"] += 1
        return [event]


class RecordsContext(Middleware):
    """Keeps what each hook saw, in the class (the tests read it back)."""

    seen: list[tuple[str, str, str, str, bool]] = []

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        self.seen.append(("request", context.door, context.wire, context.team, context.streamed))
        return body
