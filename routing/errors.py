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

# (type, code) as OpenAI's API answers them: most client errors are
# ``invalid_request_error`` told apart by ``code``; rate limits carry the limited
# resource as their type ("requests" or "tokens"; which one the gateway cannot always
# tell, so "requests"); 403 is ``request_forbidden``; server-side failures ``server_error``.
OPENAI_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("request_forbidden", None),
    404: ("invalid_request_error", None),
    405: ("invalid_request_error", None),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "timeout"),
}
# OpenAI has no 529 ("overloaded", Anthropic's): its clients get OpenAI's 503 instead.
OPENAI_STATUS_FOR = {529: 503}

# Key-shaped strings an upstream may echo back in an error text ("Incorrect API key
# provided: sk-abc…"): known key prefixes, credentials after an auth scheme, and long
# random-looking tokens (``_looks_random``). Names are kept, however long: a quota such as
# ``aiplatform.googleapis.com/online_prediction_requests_per_base_model`` is what a user
# must quote to get it raised. Scrubbed before any message reaches a client or a log.
_SECRET_PATTERN = re.compile(
    r"(?:\b(?:sk-|sk_|rk_|xai-|gsk_|hf_|ghp_|github_pat_|glpat-|vdm-|AIza|ya29\.)[A-Za-z0-9._\-*+/=]{8,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|(?:Bearer|bearer|Basic|basic)\s+[A-Za-z0-9._\-~+/=*]{8,})"
)
_TOKEN_CANDIDATE = re.compile(r"[A-Za-z0-9_\-]{32,}")
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
RANDOM_RUN_LENGTH = 20  # an unbroken run of letters and digits this long is no word


def _looks_random(token: str) -> bool:
    """A key-shaped token: letters and digits mixed, in a long unbroken run or in both
    cases; not words joined by ``_``/``-`` (names) and not a UUID (runs of at most 12)."""
    if not any(char.isdigit() for char in token) or not any(char.isalpha() for char in token):
        return False
    if max(len(run) for run in _ALNUM_RUN.findall(token)) >= RANDOM_RUN_LENGTH:
        return True
    return any(char.isupper() for char in token) and any(char.islower() for char in token)


def _redact_random(match: re.Match[str]) -> str:
    return "[redacted]" if _looks_random(match.group(0)) else match.group(0)


@dataclass
class GatewayError(Exception):
    """An error the gateway answers with; ``status`` picks the dialect's error type."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None
    param: str | None = None  # the request field at fault (OpenAI's errors name it)

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def invalid_request(message: str, *, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, param=param)


def anthropic_error_type(error: GatewayError) -> str:
    if error.error_type:
        return error.error_type
    if error.status in ANTHROPIC_ERROR_TYPES:
        return ANTHROPIC_ERROR_TYPES[error.status]
    return "invalid_request_error" if error.status < 500 else "api_error"


def anthropic_error_body(error: GatewayError) -> dict[str, Any]:
    return {"type": "error", "error": {"type": anthropic_error_type(error), "message": error.message}}


def openai_status(error: GatewayError) -> int:
    return OPENAI_STATUS_FOR.get(error.status, error.status)


def openai_error_body(error: GatewayError) -> dict[str, Any]:
    status = openai_status(error)
    fallback = ("invalid_request_error", None) if status < 500 else ("server_error", None)
    error_type, code = OPENAI_ERROR_KINDS.get(status, fallback)
    return {"error": {"message": error.message, "type": error_type, "param": error.param, "code": code}}


def scrub_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secrets and anything key-shaped from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _TOKEN_CANDIDATE.sub(_redact_random, _SECRET_PATTERN.sub("[redacted]", text))


# What each Anthropic error type stands for as an upstream HTTP status (an error event in
# a stream, or a Bedrock exception translated to one).
STATUS_FOR_ANTHROPIC_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def status_for_anthropic_type(error_type: object) -> int:
    """The upstream status an Anthropic error type means (500 for unknown ones)."""
    return STATUS_FOR_ANTHROPIC_TYPE.get(error_type, 500) if isinstance(error_type, str) else 500


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
