"""Relayed upstream errors inside 200 streams never carry the upstream key (issue 10 item 2:
the pass-through relays of both doors). Part of the leak crawl; needs h-relay's fix."""

from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from providers.models import ApiFormat
from tests.gateway.conftest import make_provider
from tests.mock_upstream.harness import MockUpstream
from vandamme.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
UPSTREAM_KEY = "sk-upstream-relay-0123456789abcdefABCDEF"
LEAKING_ERROR = {
    "error": {"message": f"Incorrect API key provided: {UPSTREAM_KEY}", "type": "invalid_request_error"}
}


@pytest.mark.parametrize(
    ("path", "api_format", "spec"),
    [
        ("/v1/chat/completions", ApiFormat.OPENAI, {"sse": [LEAKING_ERROR]}),
        (
            "/v1/messages",
            ApiFormat.ANTHROPIC,
            {"events": [{"event": "error", "data": {"type": "error", **LEAKING_ERROR}}]},
        ),
    ],
)
async def test_relayed_stream_errors_are_scrubbed(
    path: str, api_format: ApiFormat, spec: dict[str, Any]
) -> None:
    with MockUpstream() as upstream:
        base = upstream.base_url if api_format == ApiFormat.OPENAI else upstream.origin
        await sync_to_async(make_provider)(
            "relay", base_url=base, api_format=api_format, keys=(UPSTREAM_KEY,), is_default=True
        )
        upstream.add_rule({"match": {"model": "m"}, **spec})
        body = {
            "model": "m",
            "max_tokens": 8,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://g"
        ) as http:
            response = await http.post(path, json=body, headers={"anthropic-version": "2023-06-01"})
    assert UPSTREAM_KEY not in response.text, response.text[:500]
