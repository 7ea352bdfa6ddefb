"""What a middleware is, and how one is configured. Pure: no Django, no I/O.

A middleware is a class (named by its dotted path) built once per routing snapshot
with its JSON ``options``; it overrides any of three async hooks:

- ``on_request(body, context)``: the body about to go upstream, in the provider's
  dialect (``context.wire``: Chat Completions JSON, Anthropic Messages JSON, …). It
  returns the body to send (changed or not) or raises ``Refused`` to refuse the call;
- ``on_stream_event(event, context)``: each event of a streamed answer, in the
  client's dialect (``context.door``), as it leaves. It returns the events to send in
  its place: ``[event]`` keeps it, ``[]`` drops it, more adds some;
- ``on_response(payload, context)``: a whole answer (JSON, the client's dialect) before
  it leaves; returns the payload to send.

A hook that raises anything but ``Refused`` has failed: with ``on_error = "refuse"``
(the default) the client gets a clear error in its dialect; with ``"pass"`` the hook is
skipped (logged) and the call goes on as if it were not there.
"""

import importlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Refused(Exception):
    """Raised by a request hook to refuse the call: the client gets ``status`` (400 by
    default) with ``message`` in its dialect. Never put the matched secret in it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event of an answer: ``name`` is the SSE event name (Anthropic and
    Responses streams) or "" (Chat Completions chunks); ``data`` the parsed JSON."""

    name: str
    data: dict[str, Any]


@dataclass
class HookContext:
    """The call a hook runs for. ``state`` lives as long as the call (one dict per
    middleware): a request hook can leave there what the answer hooks need."""

    door: str  # the client's dialect: messages, chat_completions, responses
    wire: str  # the provider's dialect (routing.formats.WireFormat value)
    provider: str
    model: str  # the upstream model id
    team: str
    streamed: bool
    state: dict[str, Any] = field(default_factory=dict)
    # The request as the client sent it, in the client's dialect: read it, never change it.
    client_body: Mapping[str, Any] = field(default_factory=dict)


class Middleware:
    """Subclass it and override the hooks you need; the chain calls only those."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        return body

    def wants_answer(self, context: HookContext) -> bool:
        """Whether this call's answer needs this middleware's answer hooks (asked once, after
        the request hooks): False leaves a stream a byte relay when no other hook wants it."""
        return True

    async def on_stream_event(self, event: StreamEvent, context: HookContext) -> Iterable[StreamEvent]:
        return (event,)

    async def on_response(self, payload: dict[str, Any], context: HookContext) -> dict[str, Any]:
        return payload


def overrides(middleware: Middleware, hook: str) -> bool:
    """Whether ``middleware`` has its own ``hook`` (the chain skips the base's no-ops)."""
    return getattr(type(middleware), hook) is not getattr(Middleware, hook)


@dataclass(frozen=True, slots=True)
class MiddlewareSpec:
    """One configured middleware: where it comes from (``scope``: global, provider:NAME,
    team:NAME, built-in) and what it is."""

    path: str
    options_json: str = "{}"  # JSON text: the spec stays hashable and printable
    on_error: str = "refuse"
    scope: str = ""

    @property
    def options(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.options_json)
        return loaded

    def describe(self) -> str:
        options = "" if self.options_json == "{}" else f" {self.options_json}"
        return f"{self.path}{options} (on_error={self.on_error})"


def load_middleware(path: str, options: Mapping[str, Any]) -> Middleware:
    module_name, _, class_name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"middleware '{path}' cannot be imported ({type(exc).__name__}: {exc})") from exc
    if not (isinstance(found, type) and issubclass(found, Middleware)):
        raise ValueError(f"middleware '{path}' is not a routing.middleware.Middleware subclass")
    try:
        return found(options)
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise ValueError(f"middleware '{path}' refused its options: {exc}") from exc
