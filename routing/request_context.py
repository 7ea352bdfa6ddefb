"""What the data plane knows about the request it is serving: an id, and the outcome.

``DataPlaneASGIHandler`` opens a ``RequestScope`` per request and holds it in a context
variable, so code anywhere below (``ProxyCall.record``, log records, stream generators)
reaches it without passing it around. The handler writes the id into the response
headers and, once the response is done (a stream included), one access log line.

No Django imports: the logging configuration imports this module before apps load.
"""

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from routing.errors import scrub_secrets
from vandamme.secrets import redact_keys

if TYPE_CHECKING:
    from routing.usage import UsageEvent

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode()
# A client's own id is kept when it is short and made of token characters; anything
# else (spaces, quotes, control characters, 4 KB of junk) is replaced by our own.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
# Probes answered many times a minute: an access line each would drown the log.
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})

access_logger = logging.getLogger("vandamme.access")
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class RequestScope:
    request_id: str
    method: str
    path: str
    started: float
    status: int = 0
    usage: "UsageEvent | None" = None  # set by ProxyCall.record for proxied calls
    error: str = ""  # the (scrubbed) message of an error response

    def wrap_send(self, send: Send) -> Send:
        """``send`` that adds the request id header and notes the status."""

        async def send_with_request_id(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                headers = [*message.get("headers", ()), (_REQUEST_ID_HEADER_BYTES, self.request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        return send_with_request_id


current_request: ContextVar[RequestScope | None] = ContextVar("vandamme_request", default=None)


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's ``x-request-id`` when it is sane, else a fresh one."""
    for name, value in headers:
        if name == _REQUEST_ID_HEADER_BYTES:
            candidate = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # as unique as a uuid4, a few times cheaper


def begin_request(scope: Mapping[str, Any]) -> RequestScope:
    request = RequestScope(
        request_id=request_id_from(scope.get("headers", ())),
        method=scope.get("method", ""),
        path=scope.get("path", ""),
        started=time.perf_counter(),
    )
    current_request.set(request)
    return request


def note_error(message: str) -> None:
    """Keep an error response's message for the access line (already free of secrets)."""
    request = current_request.get()
    if request is not None:
        from django.conf import settings  # here: this module loads before Django is set up

        request.error = redact_keys(scrub_secrets(message[:300]), (settings.PROXY_API_KEY,))


def log_request(request: RequestScope) -> None:
    """The access line: one per data-plane request, with what the proxy learnt about it."""
    if request.path in QUIET_PATHS or not access_logger.isEnabledFor(logging.INFO):
        return
    latency_ms = int((time.perf_counter() - request.started) * 1000)
    fields: dict[str, Any] = {
        "request_id": request.request_id,
        "method": request.method,
        "path": request.path,
        "status": request.status,
        "latency_ms": latency_ms,
    }
    usage = request.usage
    if usage is not None:
        fields.update(
            provider=usage.provider,
            model=usage.model_served,
            model_requested=usage.model_requested,  # ProxyCall.record made both names safe
            team=usage.team_name,
            streamed=usage.streamed,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            # A string: the exact Decimal (a float would print 0.0034875000000000003).
            cost_usd=None if usage.cost_usd is None else format(usage.cost_usd.normalize(), "f"),
            unpriced=usage.unpriced,
        )
        if usage.ttft_ms is not None:
            fields["ttft_ms"] = usage.ttft_ms
        if usage.streamed and usage.status != request.status:
            fields["stream_status"] = usage.status  # a stream that failed after its 200
    if request.error:
        fields["error"] = request.error
    access_logger.info(_access_text(fields), extra={"fields": fields})


def _access_text(fields: Mapping[str, Any]) -> str:
    text = f"{fields['method']} {fields['path']} {fields['status']} {fields['latency_ms']}ms"
    if "provider" in fields:
        text += (
            f" {fields['provider']}:{fields['model']} team={fields['team'] or '-'}"
            f" tokens in={fields['input_tokens']} out={fields['output_tokens']}"
            f" cached={fields['cached_tokens']}"
            f" cost={'unpriced' if fields['unpriced'] else fields['cost_usd'] or '0'}"
        )
    if "stream_status" in fields:
        text += f" stream_status={fields['stream_status']}"
    if "error" in fields:
        text += f" error={fields['error']!r}"
    return f"{text} id={fields['request_id']}"
