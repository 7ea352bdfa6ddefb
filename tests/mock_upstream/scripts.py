"""Scripted behaviour: canned responses consumed in order, rules keyed on the request, the
record of what was asked, and the server-wide settings. All of it lives in ``MockState``,
touched only from the server's event loop.

A response spec is a JSON object; every key is optional:

``status``          HTTP status (200)
``headers``         extra response headers, ``{name: value}``
``json``            a JSON body
``body``            a text body
``sse``             a stream: each item sent as ``data: …`` (objects as JSON, strings verbatim,
                    so ``"[DONE]"`` works)
``events``          a stream of named events: ``[{"event": NAME, "data": object-or-string}]``
``raw``             a stream of raw strings, each written as one HTTP chunk (malformed SSE,
                    lines split across chunks)
``delay_ms``        wait before the status line
``chunk_delay_ms``  wait between stream items
``drop_after``      a stream: close the connection after this many items, without ending the
                    body; a non-streamed reply: close the connection without answering
``raw_b64``, ``pad_bytes``, ``reset_after``, ``cut_after_bytes``, ``end_after_bytes``, ``split``
                    stream-level faults (raw bytes, a huge event, a reset, a cut, a short body,
                    split frames): see ``faults``
``match``           only requests matching it (see ``matches``); a script entry that does not
                    match stays queued for a later request

With no body key, a status < 400 gets the default answer for the request (streamed when it
asked for a stream, so ``{"delay_ms": 500}`` or ``{"drop_after": 3}`` shape a normal answer),
and a status ≥ 400 gets an error body in the dialect of the endpoint.

A rule is a response spec plus ``times`` (apply this many times, then drop the rule; absent:
forever). Rules are checked before the script, in the order they were added.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.mock_upstream.faults import STREAM_FAULT_KEYS, apply_stream_faults, raw_b64_items, validate_faults
from tests.mock_upstream.routes import (
    JSON_HEADERS,
    SSE_HEADERS,
    Pacing,
    Reply,
    body_shape,
    classify,
    default_reply,
    error_reply,
    requested_model,
    speaks_anthropic,
)
from tests.mock_upstream.wire import Request

BODY_KEYS = ("json", "body", "sse", "events", "raw", "raw_b64")
RESPONSE_KEYS = {
    *BODY_KEYS,
    *STREAM_FAULT_KEYS,
    "status",
    "headers",
    "delay_ms",
    "chunk_delay_ms",
    "drop_after",
    "match",
}
RULE_KEYS = {*RESPONSE_KEYS, "times"}
MATCH_KEYS = {"header", "equals", "contains", "present", "path", "path_contains", "method", "model", "stream"}


class SpecError(ValueError):
    """A script entry, rule or setting the mock cannot follow; the message says which part."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def validate_match(match: Any) -> None:
    _require(isinstance(match, dict), "match must be an object")
    unknown = set(match) - MATCH_KEYS
    _require(not unknown, f"unknown match keys: {sorted(unknown)}")
    has_test = any(key in match for key in ("equals", "contains", "present"))
    _require(has_test == ("header" in match), "match.header needs exactly one of equals/contains/present")


def validate_spec(spec: Any, *, rule: bool = False) -> dict[str, Any]:
    _require(isinstance(spec, dict), "a response spec must be an object")
    unknown = set(spec) - (RULE_KEYS if rule else RESPONSE_KEYS)
    _require(not unknown, f"unknown keys: {sorted(unknown)}")
    _require(sum(key in spec for key in BODY_KEYS) <= 1, f"at most one of {BODY_KEYS}")
    status = spec.get("status", 200)
    _require(isinstance(status, int) and 100 <= status <= 599, "status must be an HTTP status code")
    headers = spec.get("headers", {})
    _require(
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values()),
        "headers must map names to strings",
    )
    for key in ("sse", "events", "raw"):
        _require(isinstance(spec.get(key, []), list), f"{key} must be a list")
    _require(all(isinstance(e, dict) and "event" in e for e in spec.get("events", [])), "events need 'event'")
    _require(all(isinstance(r, str) for r in spec.get("raw", [])), "raw items must be strings")
    for key in ("delay_ms", "chunk_delay_ms"):
        _require(_is_number(spec.get(key, 0)), f"{key} must be a number ≥ 0")
    drop_after = spec.get("drop_after", 0)
    _require(isinstance(drop_after, int) and drop_after >= 0, "drop_after must be an int ≥ 0")
    fault = validate_faults(spec)
    _require(fault is None, str(fault))
    times = spec.get("times", 1)
    _require(isinstance(times, int) and times >= 1, "times must be an int ≥ 1")
    if "match" in spec:
        validate_match(spec["match"])
    return dict(spec)


def matches(match: dict[str, Any], request: Request) -> bool:
    """True when every condition given holds: ``header`` with ``equals`` / ``contains`` /
    ``present``, ``path`` (exact), ``path_contains``, ``method``, ``model``, ``stream``."""
    if "header" in match:
        value = request.headers.get(str(match["header"]).lower())
        if "equals" in match and value != match["equals"]:
            return False
        if "contains" in match and (value is None or str(match["contains"]) not in value):
            return False
        if "present" in match and (value is not None) != bool(match["present"]):
            return False
    checks = (
        ("path", lambda: request.path),
        ("method", lambda: request.method),
        ("model", lambda: requested_model(request)),
        ("stream", lambda: body_shape(request).stream),
    )
    if any(key in match and match[key] != actual() for key, actual in checks):
        return False
    return "path_contains" not in match or str(match["path_contains"]) in request.path


def _stream_items(spec: dict[str, Any]) -> list[bytes] | None:
    if "sse" in spec:
        return [_data_line(item) for item in spec["sse"]]
    if "events" in spec:
        return [f"event: {e['event']}\n".encode() + _data_line(e.get("data", {})) for e in spec["events"]]
    if "raw" in spec:
        return [item.encode() for item in spec["raw"]]
    if "raw_b64" in spec:
        return raw_b64_items(spec)
    return None


def _data_line(item: Any) -> bytes:
    text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    return b"data: " + text.encode() + b"\n\n"


def _body_reply(spec: dict[str, Any], request: Request, pacing: Pacing) -> Reply:
    status = int(spec.get("status", 200))
    items = _stream_items(spec)
    if items is not None:
        wait = float(spec.get("chunk_delay_ms", 0)) / 1000
        return Reply(
            status, list(SSE_HEADERS), parts=[(wait if i else 0.0, item) for i, item in enumerate(items)]
        )
    if "json" in spec:
        return Reply(status, list(JSON_HEADERS), json.dumps(spec["json"]).encode())
    if "body" in spec:
        return Reply(status, [("content-type", "text/plain; charset=utf-8")], str(spec["body"]).encode())
    if status >= 400:
        return error_reply(request, status, f"scripted failure {status}")
    reply = default_reply(request, pacing)
    reply.status = status
    if reply.encoded is not None:  # the spec changes status and headers: encode afresh
        reply.body, reply.encoded = _body_of(reply.encoded), None
    return reply


def _body_of(encoded: bytes) -> bytes:
    return encoded.partition(b"\r\n\r\n")[2]


def spec_reply(spec: dict[str, Any], request: Request, pacing: Pacing) -> Reply:
    """The reply a (validated) response spec describes, for this request."""
    reply = _body_reply(spec, request, pacing)
    custom = {name.lower() for name in spec.get("headers", {})}
    reply.headers = [(n, v) for n, v in reply.headers if n not in custom] + list(
        spec.get("headers", {}).items()
    )
    reply.delay = float(spec.get("delay_ms", 0)) / 1000
    reply.drop_after = spec.get("drop_after")
    apply_stream_faults(reply, spec, anthropic=speaks_anthropic(request, classify(request)))
    return reply


def request_record(request: Request) -> dict[str, Any]:
    """A recorded request as JSON: method, path, query, headers, json (or None), body text."""
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": dict(request.headers),
        "json": request.json(),
        "body": request.body.decode("utf-8", errors="replace"),
    }


@dataclass(slots=True)
class Rule:
    spec: dict[str, Any]
    remaining: int | None  # None: applies forever


@dataclass(slots=True)
class StreamStats:
    active: int = 0
    completed: int = 0
    dropped: int = 0  # cut on purpose by drop_after
    aborted: int = 0  # the client went away first


@dataclass
class MockState:
    """Script, rules, record and settings of one mock server."""

    initial: Pacing = field(default_factory=Pacing)
    record: bool = True
    pacing: Pacing = field(init=False)
    script: list[dict[str, Any]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    recorded: list[Request] = field(default_factory=list)
    streams: StreamStats = field(default_factory=StreamStats)
    served: int = 0  # requests answered, control calls excluded
    connections: int = 0  # connections accepted: tells keep-alive from a connection per request

    def __post_init__(self) -> None:
        self.pacing = Pacing(self.initial.chunks, self.initial.delay_ms)
        self._initial_record = self.record

    def reset(self) -> None:
        """Forget script, rules, record and counters; settings back to how the server started."""
        self.pacing = Pacing(self.initial.chunks, self.initial.delay_ms)
        self.record = self._initial_record
        self.script.clear()
        self.rules.clear()
        self.recorded.clear()
        self.streams = StreamStats()
        self.served = 0
        self.connections = 0

    def stats(self) -> dict[str, Any]:
        return {"served": self.served, "connections": self.connections, "streams": asdict(self.streams)}

    def reply_for(self, request: Request) -> Reply:
        self.served += 1
        if self.record:
            self.recorded.append(request)
        spec = self._take_rule(request)
        if spec is None:
            spec = self._take_script_entry(request)
        if spec is None:
            return default_reply(request, self.pacing)
        return spec_reply(spec, request, self.pacing)

    def _take_rule(self, request: Request) -> dict[str, Any] | None:
        for rule in self.rules:
            if matches(rule.spec.get("match", {}), request):
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self.rules.remove(rule)
                return rule.spec
        return None

    def _take_script_entry(self, request: Request) -> dict[str, Any] | None:
        for index, spec in enumerate(self.script):
            if matches(spec.get("match", {}), request):
                return self.script.pop(index)
        return None

    def add_rule(self, spec: Any) -> None:
        valid = validate_spec(spec, rule=True)
        self.rules.append(Rule(valid, valid.get("times")))
