"""Sending an Anthropic Messages body to a provider that speaks Anthropic's dialect.

Both front doors come here when the serving provider is Anthropic-format: the
Anthropic door relays the answer as it is, the OpenAI door translates it. What the
caller gets back an ``httpx.Response``-like byte source (``routing.streams.ByteSource``):
``aiter_raw()`` yields a streamed answer as Anthropic SSE bytes and ``aread()`` a whole
answer as Anthropic JSON, whatever the provider's own wire format; ``aclose()``
releases the upstream connection.
"""

from routing.adapters.http import anthropic_messages_url
from routing.calls import ProxyCall, post_upstream
from routing.resolution import Resolution
from routing.streams import ByteSource

ANTHROPIC_FAMILY = frozenset({"anthropic"})


def is_anthropic_family(api_format: str) -> bool:
    """Providers that take Anthropic Messages bodies (possibly on another wire)."""
    return api_format in ANTHROPIC_FAMILY


async def open_anthropic_messages(
    call: ProxyCall, resolution: Resolution, body: dict[str, object], *, stream: bool
) -> tuple[ByteSource, int, str]:
    """Open the upstream answer to ``body`` (its ``model`` replaced by the upstream id).

    Returns the byte source, the upstream status and its content type. Errors before
    the first byte (after key rotation and retries) raise ``GatewayError``.
    """
    provider = resolution.provider
    outgoing = {**body, "model": resolution.upstream_model}
    opened = await post_upstream(
        call, resolution, url=anthropic_messages_url(provider), body=outgoing, stream=stream
    )
    response = opened.response
    return response, response.status_code, response.headers.get("content-type", "application/json")
