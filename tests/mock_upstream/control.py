"""The control API under ``/_mock/``: script, rules, recorded requests, reset, settings, stats.

``POST /_mock/script``    a response spec or a list of them, queued (consumed in order)
``GET  /_mock/script``    the entries not consumed yet
``POST /_mock/rules``     a rule or a list of rules
``GET  /_mock/rules``     the rules in force
``GET  /_mock/requests``  every request recorded since the last reset (control calls excluded)
``POST /_mock/reset``     forget script, rules, record and stats; settings as at start
``GET|POST /_mock/config`` ``{"chunks": N, "delay_ms": M, "record": bool}`` (POST: any subset)
``GET  /_mock/stats``     requests served, connections accepted, streams active / completed / dropped / aborted
"""

from collections.abc import Callable
from typing import Any

from tests.mock_upstream.routes import Reply, json_reply
from tests.mock_upstream.scripts import MockState, SpecError, request_record, validate_spec
from tests.mock_upstream.wire import Request

PREFIX = "/_mock"


def _body(request: Request) -> Any:
    body = request.json()
    if body is None:
        raise SpecError("the body must be JSON")
    return body


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _queue_script(state: MockState, request: Request) -> Any:
    entries = [validate_spec(entry) for entry in _as_list(_body(request))]
    state.script.extend(entries)
    return {"queued": len(state.script)}


def _add_rules(state: MockState, request: Request) -> Any:
    rules = _as_list(_body(request))
    for rule in rules:
        validate_spec(rule, rule=True)  # all or nothing: validate every rule before adding any
    for rule in rules:
        state.add_rule(rule)
    return {"rules": len(state.rules)}


def _config(state: MockState) -> dict[str, Any]:
    return {"chunks": state.pacing.chunks, "delay_ms": state.pacing.delay_ms, "record": state.record}


def _set_config(state: MockState, request: Request) -> Any:
    update = _body(request)
    if not isinstance(update, dict) or set(update) - {"chunks", "delay_ms", "record"}:
        raise SpecError("config takes an object with chunks, delay_ms and/or record")
    chunks = update.get("chunks", state.pacing.chunks)
    delay_ms = update.get("delay_ms", state.pacing.delay_ms)
    record = update.get("record", state.record)
    if not (isinstance(chunks, int) and not isinstance(chunks, bool) and chunks >= 0):
        raise SpecError("chunks must be an int ≥ 0")
    if not (isinstance(delay_ms, int | float) and not isinstance(delay_ms, bool) and delay_ms >= 0):
        raise SpecError("delay_ms must be a number ≥ 0")
    if not isinstance(record, bool):
        raise SpecError("record must be true or false")
    state.pacing.chunks, state.pacing.delay_ms, state.record = chunks, float(delay_ms), record
    return _config(state)


def _reset(state: MockState, request: Request) -> Any:
    state.reset()
    return {"reset": True}


ROUTES: dict[tuple[str, str], Callable[[MockState, Request], Any]] = {
    ("POST", "/script"): _queue_script,
    ("GET", "/script"): lambda state, _: state.script,
    ("POST", "/rules"): _add_rules,
    ("GET", "/rules"): lambda state, _: [rule.spec for rule in state.rules],
    ("GET", "/requests"): lambda state, _: [request_record(r) for r in state.recorded],
    ("POST", "/reset"): _reset,
    ("GET", "/config"): lambda state, _: _config(state),
    ("POST", "/config"): _set_config,
    ("GET", "/stats"): lambda state, _: state.stats(),
}


def is_control(request: Request) -> bool:
    return request.path.startswith(PREFIX + "/")


def control_reply(state: MockState, request: Request) -> Reply:
    handler = ROUTES.get((request.method, request.path.removeprefix(PREFIX).rstrip("/")))
    if handler is None:
        return json_reply(404, {"error": f"no control route {request.method} {request.path}"})
    try:
        return json_reply(200, handler(state, request))
    except SpecError as exc:
        return json_reply(400, {"error": str(exc)})
