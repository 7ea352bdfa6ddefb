"""The hot path: no database query per proxied request once the snapshot is warm, and
configuration changes reach the snapshot within the TTL."""

import asyncio
import json

import httpx
import pytest
import respx
from asgiref.sync import SyncToAsync, sync_to_async

from aliases.models import Alias
from routing import views
from routing.asgi import DATA_PLANE_URLCONF, fixed_routes
from tests.gateway.conftest import OPENAI_BASE
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}
STREAM = (
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


async def _ask(http: httpx.AsyncClient, model: str, *, stream: bool = False) -> httpx.Response:
    body = {"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "x"}]}
    return await http.post("/v1/messages", json=body)


@respx.mock(assert_all_mocked=False)
async def test_no_queries_per_request_once_warm(
    respx_mock: respx.MockRouter, query_log: list[str], settings: object
) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 3600  # type: ignore[attr-defined]
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = lambda request: httpx.Response(
        200,
        content=STREAM if json.loads(request.content).get("stream") else json.dumps(REPLY).encode(),
        headers={
            "content-type": "text/event-stream"
            if json.loads(request.content).get("stream")
            else "application/json"
        },
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        assert (await _ask(http, "fast")).status_code == 200  # warms the snapshot
        assert query_log, "the counter must see the snapshot build, or this test proves nothing"
        query_log.clear()
        for stream in (False, True) * 10:
            response = await _ask(http, "fast", stream=stream)
            assert response.status_code == 200
            chat = {"model": "fast", "stream": stream, "messages": [{"role": "user", "content": "x"}]}
            assert (await http.post("/v1/chat/completions", json=chat)).status_code == 200  # the OpenAI door
    assert query_log == []


@respx.mock(assert_all_mocked=False)
async def test_saved_change_is_seen_after_the_ttl(respx_mock: respx.MockRouter, settings: object) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 0.2  # type: ignore[attr-defined]
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        await _ask(http, "fast")
        assert json.loads(route.calls.last.request.content)["model"] == "gpt-4o-mini"
        await sync_to_async(Alias.objects.filter(name="fast").update)(target="mockai:gpt-4.1")
        # update() sends no signal: bump as the admin, API and loaders do through save()
        alias = await Alias.objects.aget(name="fast")
        await sync_to_async(alias.save)()
        await asyncio.sleep(0.3)
        response = await _ask(http, "fast")
    assert response.headers["x-vandamme-model"] == "gpt-4.1"
    assert json.loads(route.calls.last.request.content)["model"] == "gpt-4.1"


async def test_error_answers_take_no_thread_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's chain logs every answer of 400 or more in a worker thread; the data plane's
    fixed paths skip it, so a burst of rejected requests (a 429 storm) stays on the loop."""
    hops: list[object] = []
    original_call = SyncToAsync.__call__

    async def counting_call(self: SyncToAsync, *args: object, **kwargs: object) -> object:
        hops.append(self.func)
        return await original_call(self, *args, **kwargs)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        await http.post("/v1/messages", content=b"{}")  # warms the snapshot (a thread hop)
        monkeypatch.setattr(SyncToAsync, "__call__", counting_call)
        for path in ("/v1/messages", "/v1/chat/completions"):
            for _ in range(5):
                response = await http.post(path, content=b"not json")
                assert response.status_code == 400
    assert hops == []


def test_fixed_routes_are_the_data_plane_paths_without_parameters() -> None:
    routes = fixed_routes(DATA_PLANE_URLCONF)
    assert routes["/v1/messages"] is views.messages
    assert routes["/"] is views.root
    assert not any(path.startswith("/^") for path in routes)  # the catch-all regex stays with Django
