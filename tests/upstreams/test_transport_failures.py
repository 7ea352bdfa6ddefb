"""Upstream timeouts and connection failures on the production transport (aiohttp's pool):
a stalled provider gives 504 after ITS timeout, a refused connection is 502 "unreachable"
(httpx-aiohttp alone reports it as a connect timeout), a real connect timeout stays 504."""

import socket
import time
from collections.abc import AsyncIterator, Iterator

import anthropic
import pytest

from routing.upstream import close_upstream_clients
from tests.mock_upstream import MockUpstream
from tests.upstreams.conftest import provider_row

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
async def production_transport(settings: object) -> AsyncIterator[None]:
    settings.VANDAMME_UPSTREAM_TRANSPORT = "aiohttp"  # type: ignore[attr-defined]
    settings.VANDAMME_CONNECT_TIMEOUT = 0.5  # type: ignore[attr-defined]
    yield
    await close_upstream_clients()


@pytest.fixture
def upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full: Linux drops further SYNs, so a connect hangs
    until the client's connect timeout (a real one, not a refusal)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def _status_of(client: anthropic.AsyncAnthropic, model: str) -> tuple[int, str, float]:
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.create(model=model, max_tokens=5, messages=HELLO)
    body = caught.value.body
    message = body["error"]["message"] if isinstance(body, dict) else ""
    return caught.value.status_code, message, time.monotonic() - started


async def test_a_stalled_provider_gives_504_after_its_own_timeout(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await provider_row(
        "hasty", base_url=upstream.base_url, keys=("sk-hasty-key",), timeout=0.3, max_retries=0
    )
    await provider_row(
        "patient", base_url=upstream.base_url, keys=("sk-patient-key",), timeout=5, max_retries=0
    )
    upstream.add_rule({"delay_ms": 1000})  # every answer waits a second before its status line
    status, message, elapsed = await _status_of(client, "hasty:gpt-4o")
    assert status == 504
    assert "timed out" in message
    assert elapsed < 0.9  # its 0.3 s, not the mock's second
    answer = await client.messages.create(model="patient:gpt-4o", max_tokens=5, messages=HELLO)
    assert answer.content  # the same stall is within the other provider's timeout


async def test_a_stall_mid_stream_ends_it_with_an_error_event(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await provider_row(
        "hasty", base_url=upstream.base_url, keys=("sk-hasty-key",), timeout=0.3, max_retries=0
    )
    upstream.configure(chunks=3, delay_ms=1000)  # a second between streamed chunks
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as caught:
        async with client.messages.stream(model="hasty:gpt-4o", max_tokens=5, messages=HELLO) as stream:
            await stream.get_final_message()
    assert "timed out" in str(caught.value)
    assert time.monotonic() - started < 0.9


async def test_a_refused_connection_is_502_unreachable(client: anthropic.AsyncAnthropic) -> None:
    await provider_row(
        "gone", base_url=f"http://127.0.0.1:{_closed_port()}/v1", keys=("sk-gone-key",), max_retries=0
    )
    status, message, _ = await _status_of(client, "gone:gpt-4o")
    assert status == 502
    assert "unreachable (ConnectError" in message
    assert "timed out" not in message


async def test_a_connect_timeout_stays_504(unaccepting_port: int, client: anthropic.AsyncAnthropic) -> None:
    await provider_row(
        "stuck", base_url=f"http://127.0.0.1:{unaccepting_port}/v1", keys=("sk-stuck-key",), max_retries=0
    )
    status, message, elapsed = await _status_of(client, "stuck:gpt-4o")
    assert status == 504
    assert "timed out (ConnectTimeout)" in message
    assert elapsed < 2
