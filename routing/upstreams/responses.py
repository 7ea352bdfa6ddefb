"""Sending a Responses API body to a provider that speaks OpenAI's Responses API natively
(OpenAI; Azure's v1 API at the same path): ``POST {base_url}/responses``.

Modelled on ``routing.upstreams.chat_completions``: what the caller gets back is a byte
source (``routing.relays.core.ByteSource``), a stream of Responses events as they come
or a whole response object. A 200 that carries an error, not a response, is raised as
that error; so is JSON where a stream was asked for (relayed, the client would read an
empty stream).
"""

import json
from typing import Any

from routing.adapters.http import openai_responses_url
from routing.adapters.openai_answers import carries_error, embedded_error_status, is_json_media_type
from routing.calls import ProxyCall, post_upstream, provider_secrets
from routing.errors import GatewayError, map_upstream_status, scrub_secrets, upstream_error_message
from routing.relays.core import ByteSource
from routing.resolution import Resolution


async def open_responses(
    call: ProxyCall, resolution: Resolution, body: dict[str, Any], *, stream: bool
) -> tuple[ByteSource, int, str]:
    """Open the upstream answer to ``body`` (sent as it is: the caller sets ``model``).

    Returns the byte source, the upstream status and its content type. Errors before the
    first byte (after key rotation and retries) raise ``GatewayError``."""
    url = openai_responses_url(resolution.provider)
    opened = await post_upstream(call, resolution, url=url, body=body, stream=stream)
    response = opened.response
    content_type = response.headers.get("content-type", "application/json")
    if stream and is_json_media_type(content_type):
        try:
            raw = await response.aread()
        finally:
            await response.aclose()
        response_object_from(raw, resolution)  # raises the error it carries
        raise GatewayError(
            502,
            f"upstream provider '{resolution.provider.name}' answered a streamed request with "
            "JSON, not an event stream",
        )
    return response, response.status_code, content_type


def response_object_from(raw: bytes, resolution: Resolution) -> dict[str, Any]:
    """The response object in a 200 answer's body; the error it carries instead is raised
    (502, or the status the error names), its message scrubbed of secrets."""
    name = resolution.provider.name
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GatewayError(502, f"upstream provider '{name}' returned invalid JSON") from exc
    if isinstance(payload, dict) and payload.get("object") == "response" and not payload.get("error"):
        return payload
    if carries_error(payload):
        status = embedded_error_status(payload)
        detail = scrub_secrets(upstream_error_message(raw), provider_secrets(resolution))
        named = f" {status}" if status else ""
        raise GatewayError(
            map_upstream_status(status) if status else 502,
            f"upstream provider '{name}' answered 200 with an error{named}: {detail}",
        )
    raise GatewayError(502, f"upstream provider '{name}' answered 200 without a response object")
