"""No-op middleware for the bench (``VDM_MIDDLEWARE=bench.noop_middleware.NoOpRequest``
or ``…NoOpAll``): what the chain itself costs, with hooks that change nothing."""

from collections.abc import Iterable
from typing import Any

from routing.middleware import HookContext, Middleware, StreamEvent


class NoOpRequest(Middleware):
    """A request hook only: the answers pass untouched (no re-framing)."""

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        return body


class NoOpAll(NoOpRequest):
    """All three hooks: every stream is parsed and re-framed event by event."""

    async def on_stream_event(self, event: StreamEvent, context: HookContext) -> Iterable[StreamEvent]:
        return (event,)

    async def on_response(self, payload: dict[str, Any], context: HookContext) -> dict[str, Any]:
        return payload
