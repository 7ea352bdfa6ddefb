"""AWS Bedrock Runtime for Anthropic models: URLs, bodies, credentials, stream decoding. Pure.

- ``POST /model/{modelId}/invoke`` answers with Anthropic's message JSON;
  ``/invoke-with-response-stream`` with AWS event-stream frames (``application/
  vnd.amazon.eventstream``) whose ``chunk`` events carry ``{"bytes": base64(JSON of
  one Anthropic stream event)}``, and whose ``exception`` events end the stream.
- The body is Anthropic's without ``model`` (it is in the URL) and ``stream`` (the
  path says it), plus ``anthropic_version`` and the client's betas as ``anthropic_beta``
  (Bedrock reads them from the body, not from a header).
- ``POST /model/{modelId}/count-tokens`` counts an invoke body sent base64-encoded.
"""

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from botocore.eventstream import EventStreamBuffer, EventStreamMessage, ParserError

from routing.sse import encode_event
from routing.table import ProviderConfig

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
SIGNING_SERVICE = "bedrock"
# Counting needs a valid invoke body, and an invoke body needs max_tokens; any value
# counts the same input.
COUNT_MAX_TOKENS = 1
_NOT_IN_BODY = ("model", "stream")
# Bedrock's stream exceptions → Anthropic error types.
_EXCEPTION_TYPES = {
    "throttlingException": "rate_limit_error",
    "serviceUnavailableException": "overloaded_error",
    "validationException": "invalid_request_error",
    "modelTimeoutException": "api_error",
    "modelStreamErrorException": "api_error",
    "internalServerException": "api_error",
}


def _model_path(provider: ProviderConfig, model: str) -> str:
    # As AWS's and Anthropic's clients send it: the id percent-encoded, its ':' kept.
    return f"{provider.base_url}/model/{quote(model, safe=':')}"


def invoke_url(provider: ProviderConfig, model: str, *, stream: bool) -> str:
    action = "invoke-with-response-stream" if stream else "invoke"
    return f"{_model_path(provider, model)}/{action}"


def count_tokens_url(provider: ProviderConfig, model: str) -> str:
    return f"{_model_path(provider, model)}/count-tokens"


def _betas(header: str | None) -> list[str]:
    return [beta.strip() for beta in (header or "").split(",") if beta.strip()]


def invoke_body(body: Mapping[str, Any], *, beta_header: str | None) -> dict[str, Any]:
    """The InvokeModel body for an Anthropic Messages body."""
    out = {key: value for key, value in body.items() if key not in _NOT_IN_BODY}
    out["anthropic_version"] = BEDROCK_ANTHROPIC_VERSION
    betas = _betas(beta_header)
    if betas:
        out["anthropic_beta"] = betas
    return out


def count_tokens_body(body: Mapping[str, Any], *, beta_header: str | None) -> dict[str, Any]:
    """The CountTokens body: the invoke body it would count, base64 (a JSON blob)."""
    invoke = invoke_body(body, beta_header=beta_header)
    invoke.setdefault("max_tokens", COUNT_MAX_TOKENS)
    encoded = base64.b64encode(json.dumps(invoke, ensure_ascii=False).encode()).decode()
    return {"input": {"invokeModel": {"body": encoded}}}


def anthropic_count(payload: Any) -> dict[str, int] | None:
    """``{"inputTokens": N}`` → Anthropic's ``{"input_tokens": N}``."""
    count = payload.get("inputTokens") if isinstance(payload, dict) else None
    if isinstance(count, int) and not isinstance(count, bool):
        return {"input_tokens": count}
    return None


@dataclass(frozen=True)
class BedrockCredential:
    """One pool entry: AWS access keys (signed requests) or a Bedrock API key (Bearer)."""

    access_key_id: str = ""
    secret_access_key: str = field(default="", repr=False)
    session_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)


def parse_credential(secret: str) -> BedrockCredential:
    """``ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]``, or a Bedrock API key (no colon).

    Raises ValueError naming what is wrong, never echoing the secret."""
    secret = secret.strip()
    if ":" not in secret:
        if not secret:
            raise ValueError("empty Bedrock credential")
        return BedrockCredential(api_key=secret)
    parts = secret.split(":")
    if len(parts) > 3 or not all(parts[:2]):
        raise ValueError("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]")
    session_token = parts[2] if len(parts) == 3 and parts[2] else None
    return BedrockCredential(parts[0], parts[1], session_token)


@dataclass
class EventStreamTranscoder:
    """Bedrock event-stream bytes in, Anthropic SSE bytes out, frame by frame as they arrive.

    An exception frame, or bytes that are not valid frames (bad checksum, impossible
    lengths), become one Anthropic ``error`` event, after which ``ended`` is set and
    further input is ignored.
    """

    ended: bool = False
    _buffer: EventStreamBuffer = field(default_factory=EventStreamBuffer)

    def feed(self, data: bytes) -> bytes:
        if self.ended:
            return b""
        out: list[bytes] = []
        try:
            self._buffer.add_data(data)
            for message in self._buffer:
                out.append(self._event(message))
                if self.ended:
                    break
        except ParserError as exc:
            out.append(self._error("api_error", f"malformed Bedrock event stream ({type(exc).__name__})"))
        return b"".join(out)

    def _event(self, message: EventStreamMessage) -> bytes:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind == "event":
            return _chunk_to_sse(message.payload) if headers.get(":event-type") == "chunk" else b""
        if kind == "exception":
            name = str(headers.get(":exception-type", "exception"))
            detail = _payload_message(message.payload)
            return self._error(_EXCEPTION_TYPES.get(name, "api_error"), f"Bedrock {name}: {detail}")
        if kind == "error":
            code, detail = headers.get(":error-code", "error"), headers.get(":error-message", "")
            return self._error("api_error", f"Bedrock {code}: {detail}")
        return b""

    def _error(self, error_type: str, message: str) -> bytes:
        self.ended = True
        return encode_event("error", {"type": "error", "error": {"type": error_type, "message": message}})


def _payload_message(payload: bytes) -> str:
    try:
        parsed = json.loads(payload)
    except ValueError:
        return payload[:300].decode("utf-8", errors="replace")
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return str(message) if message is not None else json.dumps(parsed)[:300]


def _chunk_to_sse(payload: bytes) -> bytes:
    """One chunk event → one SSE event, the Anthropic JSON relayed as Bedrock sent it."""
    try:
        part = json.loads(payload)
        event_json = base64.b64decode(part["bytes"])
        event = json.loads(event_json)
    except (ValueError, KeyError, TypeError):
        return b""  # not an Anthropic event: nothing a client could use
    name = event.get("type") if isinstance(event, dict) else None
    if not isinstance(name, str):
        return b""
    if b"\n" in event_json or b"\r" in event_json:  # a data line must be one line
        event_json = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    return b"event: " + name.encode() + b"\ndata: " + event_json + b"\n\n"
