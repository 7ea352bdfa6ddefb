"""How a request reaches an upstream: straight to the pooled transport, with the client's
default headers and the timeouts, and no cookie carried from one answer to the next
request."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from routing.table import ProviderConfig
from routing.upstream import close_upstream_clients, set_transport_factory, upstream_client

PROVIDER = ProviderConfig(
    name="acme",
    api_format="openai",
    base_url="http://acme.invalid/v1",
    api_version="",
    timeout=123.0,
    max_retries=0,
    custom_headers=(),
    tool_name_sanitization=False,
    passthrough=False,
    models=(),
    keys=(),
)
URL = "http://acme.invalid/v1/chat/completions"


@pytest.fixture
def seen() -> Iterator[list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, json={"ok": True})

    set_transport_factory(lambda: httpx.MockTransport(answer))
    yield requests
    set_transport_factory(lambda: None)


@pytest.fixture(autouse=True)
async def _closed_clients() -> AsyncIterator[None]:
    yield
    await close_upstream_clients()


async def _post(headers: dict[str, str]) -> httpx.Response:
    response = await upstream_client(PROVIDER).send("POST", URL, headers, b'{"model": "m"}')
    await response.aread()
    await response.aclose()
    return response


async def test_defaults_timeouts_and_our_headers_reach_the_transport(seen: list[httpx.Request]) -> None:
    response = await _post({"Content-Type": "application/json", "User-Agent": "custom/1"})
    assert response.json() == {"ok": True}
    assert response.request is seen[0]
    sent = seen[0]
    assert (sent.method, str(sent.url), sent.content) == ("POST", URL, b'{"model": "m"}')
    assert sent.headers.get_list("user-agent") == ["custom/1"]  # ours replaces the default
    assert sent.headers["accept-encoding"] == httpx.AsyncClient().headers["accept-encoding"]
    assert sent.extensions["timeout"]["read"] == 123.0


async def test_an_answers_cookies_never_reach_the_next_request(seen: list[httpx.Request]) -> None:
    await _post({})
    await _post({})
    assert [request.headers.get("cookie") for request in seen] == [None, None]
