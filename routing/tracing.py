"""OpenTelemetry traces of the data plane: the hooks the proxy path calls, free when off.

Tracing is on when the standard variables ask for OTLP (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_TRACES_EXPORTER=otlp``) and off otherwise
(``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off whatever else is
set). Only then is ``routing.otel`` imported, and with it the OpenTelemetry SDK: with
tracing off no OpenTelemetry module is loaded, and each hook below is a function call
that finds ``_otel`` unset and returns (about 0.1 µs; the bench cannot tell it apart).

The spans (built in ``routing.otel``): one per request to a front door, with children for
the model's resolution, each upstream attempt and the time to the first token.
"""

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routing.request_context import RequestScope
    from routing.resolution import Resolution
    from routing.table import KeyConfig, ProviderConfig

logger = logging.getLogger(__name__)

# routing.otel once tracing is configured; None (the steady state without OTEL_*) else.
_otel: ModuleType | None = None


def _ignore(_: object) -> None:
    """The note a span's body hands its outcome to, when there is no span."""


# Reusable: ``nullcontext`` keeps no state between uses.
_NO_SPAN: AbstractContextManager[Callable[[Any], None]] = contextlib.nullcontext(_ignore)


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the OTEL_* variables in ``environ`` ask for traces over OTLP."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {name.strip().lower() for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")}
    if "none" in exporters:
        return False
    if "otlp" in exporters:
        return True
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return any(environ.get(name) for name in endpoints)


def configure_tracing(environ: Mapping[str, str] = os.environ) -> bool:
    """Start tracing in this process when the environment asks for it (once per process:
    every uvicorn worker imports the application, and calls this, itself)."""
    global _otel
    if _otel is None and tracing_wanted(environ):
        from routing import otel  # the SDK and its exporter load here, and only here

        try:
            otel.start(environ)
        except Exception as error:  # traces are worth a log line, not a gateway that will not start
            logger.error("OpenTelemetry tracing could not start, serving without it: %s", error)
            return False
        _otel = otel
    return _otel is not None


def tracing_enabled() -> bool:
    return _otel is not None


async def shutdown_tracing() -> None:
    """Export the spans still queued, then stop the exporter (``gateway_shutdown``)."""
    global _otel
    if _otel is not None:
        otel, _otel = _otel, None
        await otel.stop()


def begin_request_trace(scope: Mapping[str, Any], request: "RequestScope") -> object | None:
    """The request's span, current for everything that serves it (None when off, or
    for paths that are no front door: probes and metrics make no spans)."""
    return _otel.begin_request(scope, request) if _otel is not None else None


def end_request_trace(trace: object | None, request: "RequestScope") -> None:
    if trace is not None and _otel is not None:
        _otel.end_request(trace, request)


def traced_resolution(
    model: str, shown: Callable[[str], str]
) -> AbstractContextManager[Callable[["Resolution"], None]]:
    """``with traced_resolution(name, call.shown_model) as resolved: … resolved(resolution)``;
    ``shown`` makes a client's model name safe to record (a key pasted as one is not)."""
    return _otel.resolution_span(model, shown) if _otel is not None else _NO_SPAN


def traced_attempt(
    provider: "ProviderConfig", key: "KeyConfig"
) -> AbstractContextManager[Callable[[Any], None]]:
    """``with traced_attempt(provider, key) as note: outcome = …; note(outcome)``."""
    return _otel.attempt_span(provider, key) if _otel is not None else _NO_SPAN


def trace_fallback(target: str) -> None:
    """The attempts from here on serve the fallback ``target``."""
    if _otel is not None:
        _otel.note_fallback(target)


def trace_call(resolution: "Resolution | None", body: Mapping[str, Any]) -> None:
    """The call has an outcome from ``resolution``: its provider names ``gen_ai.system``
    (and, with ``VANDAMME_OTEL_CAPTURE_CONTENT``, the prompt is recorded)."""
    if _otel is not None:
        _otel.note_call(resolution, body)


def trace_first_token() -> None:
    """The first chunk of a streamed answer is going out now."""
    if _otel is not None:
        _otel.note_first_token()


def traced_stream(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``events`` as they are, or (``VANDAMME_OTEL_CAPTURE_CONTENT``) passed through a
    copy that records the streamed answer."""
    return _otel.captured_stream(events) if _otel is not None else events


def trace_answer(response: object) -> None:
    """A whole answer's body, recorded only with ``VANDAMME_OTEL_CAPTURE_CONTENT``."""
    if _otel is not None:
        _otel.note_answer(response)
