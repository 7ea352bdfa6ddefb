"""A 200 from an OpenAI-format upstream is not always a completion: read it as one or
raise the error it carries, and replay a whole completion as a stream where a stream
was asked for. Shared by both front doors (``routing.adapters.openai_answers`` has the
pure checks)."""

import json
from collections.abc import AsyncIterator
from typing import Any

from routing.adapters.openai_answers import (
    anthropic_message_problem,
    carries_error,
    completion_as_chunk,
    completion_problem,
    embedded_error_status,
    has_completion,
)
from routing.calls import compact_json, provider_secrets
from routing.errors import GatewayError, map_upstream_status, scrub_secrets, upstream_error_message
from routing.relays.core import ByteSource
from routing.resolution import Resolution


async def read_completion(response: ByteSource, resolution: Resolution) -> dict[str, Any]:
    """Read a whole 200 answer: its completion, or the error it carries raised."""
    try:
        raw = await response.aread()
    finally:
        await response.aclose()
    return completion_from(raw, resolution)


def completion_from(raw: bytes, resolution: Resolution) -> dict[str, Any]:
    """The completion in a 200 answer's body; the error it carries instead is raised (502,
    or the status the error names), its message scrubbed of secrets."""
    name = resolution.provider.name
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise GatewayError(502, f"upstream provider '{name}' returned invalid JSON") from exc
    if has_completion(payload):
        problem = completion_problem(payload)
        if problem is not None:
            raise GatewayError(
                502, f"upstream provider '{name}' answered 200 with an unusable completion: {problem}"
            )
        return dict(payload)
    if carries_error(payload):
        status = embedded_error_status(payload)
        detail = scrub_secrets(upstream_error_message(raw), provider_secrets(resolution))
        named = f" {status}" if status else ""
        raise GatewayError(
            map_upstream_status(status) if status else 502,
            f"upstream provider '{name}' answered 200 with an error{named}: {detail}",
        )
    raise GatewayError(502, f"upstream provider '{name}' answered 200 without a completion (no 'choices')")


def anthropic_message_from(raw: bytes, resolution: Resolution) -> dict[str, Any]:
    """The Anthropic message in a 200 answer's body; a body that is none (an error, a
    missing or invalid ``content``) is raised as a 502, never relayed as an empty answer."""
    name = resolution.provider.name
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GatewayError(502, f"upstream provider '{name}' returned invalid JSON") from exc
    if isinstance(payload, dict) and payload.get("type") == "error":
        detail = scrub_secrets(upstream_error_message(raw), provider_secrets(resolution))
        raise GatewayError(502, f"upstream provider '{name}' answered 200 with an error: {detail}")
    problem = anthropic_message_problem(payload)
    if problem is not None:
        raise GatewayError(
            502, f"upstream provider '{name}' answered 200 with an unusable message: {problem}"
        )
    return dict(payload)


class CompletionAsStream:
    """A byte source that replays a whole completion as a one-chunk OpenAI stream."""

    def __init__(self, completion: dict[str, Any]) -> None:
        self._sse = b"data: " + compact_json(completion_as_chunk(completion)) + b"\n\ndata: [DONE]\n\n"

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        yield self._sse

    async def aread(self) -> bytes:
        return self._sse

    async def aclose(self) -> None:
        return None
