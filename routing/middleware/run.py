"""Where the gateway calls the chain: the request hooks on the body about to go
upstream (``routing.calls.post_upstream``), the answer hooks on what a door's handler
answered (``routing.doors.dispatch``). Nothing here runs when a call's chain is empty.

Failures: ``Refused`` is the hook's own answer (its status, 400 by default, in the
client's dialect); any other exception is a failed hook, skipped and logged under
``on_error = "pass"``, else a ``HookFailure`` (500) in the client's dialect, or, once a
stream has started, an error event in its dialect that ends the stream. A failed hook
is the gateway's fault, not the target's: no fallback is tried for it.
"""

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.errors import GatewayError, anthropic_error_body, openai_error_body, scrub_secrets
from routing.middleware.base import HookContext, Refused, StreamEvent
from routing.middleware.chain import Chain, Hook
from routing.sse import DONE_EVENT, SSEDecoder, encode_data, encode_event

logger = logging.getLogger(__name__)

MAX_REASON = 300


class HookFailure(GatewayError):
    """A hook that raised (not ``Refused``) with ``on_error = "refuse"``."""


@dataclass
class HookRun:
    """One call's view for its hooks: the same ``state`` dict per middleware for the
    request hook and the answer hooks (kept on the call, so it spans them)."""

    door: str
    wire: str
    provider: str
    model: str
    team: str
    streamed: bool
    states: dict[int, dict[str, Any]] = field(default_factory=dict)
    client_body: Mapping[str, Any] = field(default_factory=dict)

    def context(self, hook: Hook) -> HookContext:
        state = self.states.setdefault(id(hook.middleware), {})
        return HookContext(
            self.door, self.wire, self.provider, self.model, self.team, self.streamed, state, self.client_body
        )


def _failure(hook: Hook, where: str, exc: BaseException) -> HookFailure:
    reason = scrub_secrets(f"{type(exc).__name__}: {exc}")[:MAX_REASON]
    return HookFailure(500, f"middleware '{hook.name}' failed {where}: {reason}", error_type="api_error")


def _passed_over(hook: Hook, where: str, exc: BaseException) -> None:
    logger.warning(
        "middleware %s failed %s (on_error=pass, skipped): %s",
        hook.name,
        where,
        _failure(hook, where, exc).message,
    )


def _refusal(hook: Hook, refusal: Refused) -> GatewayError:
    status = refusal.status if 400 <= refusal.status < 500 else 400
    return GatewayError(status, f"request refused by middleware '{hook.name}': {refusal.message}")


async def run_request_hooks(hooks: tuple[Hook, ...], run: HookRun, body: Any) -> Any:
    """The body after each request hook in turn (a non-object body goes up untouched)."""
    if not isinstance(body, dict):
        return body
    for hook in hooks:
        try:
            changed = await hook.middleware.on_request(body, run.context(hook))
            if not isinstance(changed, dict):
                raise TypeError(f"on_request returned {type(changed).__name__}, not the body (a dict)")
        except Refused as refusal:
            raise _refusal(hook, refusal) from None
        except Exception as exc:
            if hook.spec.on_error == "pass":
                _passed_over(hook, "on the request", exc)
                continue
            raise _failure(hook, "on the request", exc) from exc
        body = changed
    return body


async def hooked_answer(response: HttpResponseBase, chain: Chain, run: HookRun) -> HttpResponseBase:
    """``response`` as the answer hooks leave it: a stream re-framed event by event, a
    whole JSON answer rewritten; errors and other answers untouched, and so is any answer
    no hook wants (``Middleware.wants_answer``)."""
    if isinstance(response, StreamingHttpResponse):
        stream_hooks = _wanted(chain.stream, run)
        if stream_hooks and response.is_async:
            response.streaming_content = _hooked_stream(response.streaming_content, stream_hooks, run)  # type: ignore[arg-type]
        return response
    if isinstance(response, HttpResponse) and response.status_code == 200:
        response_hooks = _wanted(chain.response, run)
        payload = _json_object(response.content) if response_hooks else None
        if payload is not None:
            payload = await _run_response_hooks(response_hooks, run, payload)
            response.content = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
    return response


def _wanted(hooks: tuple[Hook, ...], run: HookRun) -> tuple[Hook, ...]:
    return tuple(hook for hook in hooks if hook.middleware.wants_answer(run.context(hook)))


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


async def _run_response_hooks(
    hooks: tuple[Hook, ...], run: HookRun, payload: dict[str, Any]
) -> dict[str, Any]:
    for hook in hooks:
        try:
            changed = await hook.middleware.on_response(payload, run.context(hook))
            if not isinstance(changed, dict):
                raise TypeError(f"on_response returned {type(changed).__name__}, not the answer (a dict)")
        except Exception as exc:  # Refused too: an answer cannot be refused, only fail
            if hook.spec.on_error == "pass":
                _passed_over(hook, "on the answer", exc)
                continue
            raise _failure(hook, "on the answer", exc) from exc
        payload = changed
    return payload


async def _events_after(hooks: tuple[Hook, ...], run: HookRun, event: StreamEvent) -> list[StreamEvent]:
    """What ``event`` becomes after every stream hook (each sees the previous one's output)."""
    events = [event]
    for hook in hooks:
        out: list[StreamEvent] = []
        for current in events:
            try:
                produced = list(await hook.middleware.on_stream_event(current, run.context(hook)))
                if not all(isinstance(item, StreamEvent) for item in produced):
                    raise TypeError("on_stream_event must return StreamEvent objects")
            except Exception as exc:
                if hook.spec.on_error == "pass":
                    _passed_over(hook, "on a stream event", exc)
                    out.append(current)
                    continue
                raise _failure(hook, "on a stream event", exc) from exc
            out.extend(produced)
        events = out
    return events


def _encoded(event: StreamEvent) -> bytes:
    return encode_event(event.name, event.data) if event.name else encode_data(event.data)


def _raw(name: str, data: str) -> bytes:
    """An event no hook sees (``[DONE]``, a non-JSON one), framed as it came."""
    if not name and data == "[DONE]":
        return DONE_EVENT
    head = f"event: {name}\n" if name else ""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"{head}{lines}\n".encode()


def stream_error_event(door: str, error: GatewayError) -> bytes:
    """The error event that ends a stream, in the client's dialect."""
    if door == "messages":
        return encode_event("error", anthropic_error_body(error))
    if door == "responses":
        body = {"type": "error", "code": "server_error", "message": error.message, "param": None}
        return encode_event("error", body)
    return encode_data(openai_error_body(error))


async def _hooked_events(chunk_events: list[Any], hooks: tuple[Hook, ...], run: HookRun) -> bytes:
    out = bytearray()
    for raw in chunk_events:
        name = "" if raw.event == "message" else raw.event  # SSE's default name: a data-only event
        data = _json_object(raw.data.encode()) if raw.data.startswith("{") else None
        if data is None:
            out += _raw(name, raw.data)
            continue
        for event in await _events_after(hooks, run, StreamEvent(name, data)):
            out += _encoded(event)
    return bytes(out)


async def _hooked_stream(
    chunks: AsyncIterator[bytes], hooks: tuple[Hook, ...], run: HookRun
) -> AsyncIterator[bytes]:
    decoder = SSEDecoder()
    try:
        try:
            async for chunk in chunks:
                out = await _hooked_events(decoder.feed(chunk), hooks, run)
                if out:
                    yield out
            tail = await _hooked_events(decoder.flush(), hooks, run)
            if tail:
                yield tail
        except HookFailure as failure:
            logger.warning("%s", failure.message)
            yield stream_error_event(run.door, failure)
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
