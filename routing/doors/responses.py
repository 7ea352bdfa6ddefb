"""The OpenAI Responses front door: ``/v1/responses``.

Validates the body, then dispatches by the wire format the serving provider speaks
(``RESPONSES_TABLE``). To a provider that speaks the Responses API natively (OpenAI,
Azure's v1 API): a true passthrough, the body unchanged but for ``model`` and the answer
relayed as it comes, its usage read for accounting. The cells that translate to Chat
Completions and Anthropic Messages providers join the table as their modules land; until
then the table's rule answers such a provider with a 400 naming it.
"""

from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.calls import (
    SSE_HEADERS,
    ProxyCall,
    provider_secrets,
    require_model,
    serve_with_fallbacks,
    served_by,
)
from routing.doors.dispatch import DoorTable, table_dispatch
from routing.errors import invalid_request
from routing.formats import Door, WireFormat
from routing.relays.core import relay_bytes
from routing.relays.responses import (
    ResponsesUsageSniffer,
    responses_error_event,
    responses_finished,
    responses_usage,
)
from routing.resolution import Resolution
from routing.upstreams.responses import open_responses, response_object_from


def validate_responses_body(body: dict[str, Any]) -> None:
    """What every provider needs; the items themselves are the provider's (or the
    translation's) to judge."""
    require_model(body)
    items = body.get("input")
    if not isinstance(items, str | list):
        raise invalid_request("input: field required (a string or a list of items)", param="input")
    if isinstance(items, list):
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise invalid_request(f"input.{index}: must be an object", param=f"input.{index}")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid_request("instructions: must be a string", param="instructions")
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise invalid_request("stream: must be a boolean", param="stream")


async def proxy_responses(call: ProxyCall) -> HttpResponseBase:
    return await serve_with_fallbacks(call, _dispatch, validate=validate_responses_body)


async def _responses_passthrough(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """A true passthrough: the body unchanged but for the model, the answer relayed as is."""
    body = {**call.body, "model": resolution.upstream_model}
    source, status, content_type = await open_responses(call, resolution, body, stream=call.streamed)
    headers = served_by(resolution)
    if call.streamed:
        watch = call.watch_stream(resolution)
        sniffer = ResponsesUsageSniffer()
        relay = relay_bytes(
            source,
            error_event=responses_error_event,
            sniffer=sniffer,
            finished=responses_finished,
            on_complete=lambda usage, ended: watch(usage, *sniffer.outcome(ended)),
            secrets=provider_secrets(resolution),
        )
        return StreamingHttpResponse(
            watch.relay(relay), content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )
    try:
        content = await source.aread()
    finally:
        await source.aclose()
    response = response_object_from(content, resolution)  # never an error relayed as a 200
    call.record(resolution, status, responses_usage(response.get("usage")), streamed=False)
    return HttpResponse(content, status=status, content_type=content_type, headers=headers)


# THE TABLE of this door: the wire format the serving provider speaks -> its handler.
# CHAT_COMPLETIONS and ANTHROPIC_MESSAGES join with their translation modules.
RESPONSES_TABLE: DoorTable = {
    WireFormat.RESPONSES: _responses_passthrough,
}
_dispatch = table_dispatch(Door.RESPONSES, RESPONSES_TABLE)
