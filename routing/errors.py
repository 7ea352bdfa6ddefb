"""Gateway errors and their rendering in each client dialect. Pure: no I/O."""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ANTHROPIC_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}

OPENAI_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_exceeded",
    529: "server_error",
}

# Key-shaped strings an upstream may echo back in an error text ("Incorrect API key
# provided: sk-abc…"). Scrubbed before any message reaches a client or a log.
_SECRET_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-*]{8,}|sk_[A-Za-z0-9_\-*]{8,}|AIza[0-9A-Za-z_\-]{20,}"
    r"|(?:Bearer|bearer)\s+[A-Za-z0-9._\-~+/=*]{8,}|[A-Za-z0-9_\-]{40,})"
)


@dataclass
class GatewayError(Exception):
    """An error the gateway answers with; ``status`` picks the dialect's error type."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def invalid_request(message: str) -> GatewayError:
    return GatewayError(400, message)


def anthropic_error_type(error: GatewayError) -> str:
    if error.error_type:
        return error.error_type
    if error.status in ANTHROPIC_ERROR_TYPES:
        return ANTHROPIC_ERROR_TYPES[error.status]
    return "invalid_request_error" if error.status < 500 else "api_error"


def anthropic_error_body(error: GatewayError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": anthropic_error_type(error), "message": error.message}}


def openai_error_body(error: GatewayError) -> dict[str, Any]:
    fallback = "invalid_request_error" if error.status < 500 else "server_error"
    error_type = OPENAI_ERROR_TYPES.get(error.status, fallback)
    return {"error": {"message": error.message, "type": error_type, "param": None, "code": None}}


def scrub_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secrets and anything key-shaped from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _SECRET_PATTERN.sub("[redacted]", text)


def upstream_error_message(raw_body: bytes) -> str:
    """The human message inside an upstream error body, in either dialect."""
    try:
        parsed = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return raw_body[:500].decode("utf-8", errors="replace").strip()
    if isinstance(parsed, list) and parsed:  # Gemini wraps errors in a list
        parsed = parsed[0]
    if isinstance(parsed, dict):
        inner = parsed.get("error", parsed)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if isinstance(parsed.get("message"), str):
            return str(parsed["message"])
    return json.dumps(parsed)[:500]


def map_upstream_status(status: int) -> int:
    """The status the client gets for an upstream error status."""
    if status in (503, 529):
        return 529
    if status >= 500:
        return 502
    if status == 422:
        return 400
    return status


def upstream_error(
    *, status: int, raw_body: bytes, provider: str, retry_after: str | None, secrets: Iterable[str] = ()
) -> GatewayError:
    detail = scrub_secrets(upstream_error_message(raw_body), secrets)
    headers = {"retry-after": retry_after} if retry_after else {}
    return GatewayError(
        map_upstream_status(status), f"upstream provider '{provider}' answered {status}: {detail}", headers
    )
