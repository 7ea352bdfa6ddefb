"""The ASGI application answers lifespan events (uvicorn sends them): shutdown closes the
pooled upstream clients of the loop it runs on, writes the buffered usage and stops the
token count's helper process."""

from collections.abc import AsyncIterator

import pytest
from asgiref.testing import ApplicationCommunicator

from routing.token_worker import token_worker
from routing.upstream import close_upstream_clients, upstream_client
from routing.usage import UsageEvent, usage_recorder
from teams.models import UsageRecord
from tests.upstreams.test_upstream_client import PROVIDER
from vandamme.asgi import application

LIFESPAN_SCOPE = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


@pytest.fixture(autouse=True)
async def _closed_clients() -> AsyncIterator[None]:
    yield
    await close_upstream_clients()


@pytest.mark.django_db(transaction=True)  # the usage is written from a worker thread
async def test_startup_then_shutdown_closes_clients_writes_usage_and_stops_the_token_helper(
    settings: object,
) -> None:
    # Only the shutdown writes: the flusher's tick is far away.
    settings.VANDAMME_USAGE_FLUSH_SECONDS = 600  # type: ignore[attr-defined]
    client = upstream_client(PROVIDER)
    usage_recorder.record(UsageEvent("acme", "m", "m", 200, 5, False))
    await token_worker.count({"messages": [{"role": "user", "content": "hello"}]})
    helpers = token_worker.processes()
    assert helpers
    assert all(helper.is_alive() for helper in helpers)
    server = ApplicationCommunicator(application, LIFESPAN_SCOPE)

    await server.send_input({"type": "lifespan.startup"})
    assert await server.receive_output(timeout=5) == {"type": "lifespan.startup.complete"}
    assert not client.is_closed
    assert upstream_client(PROVIDER) is client

    await server.send_input({"type": "lifespan.shutdown"})
    assert await server.receive_output(timeout=5) == {"type": "lifespan.shutdown.complete"}
    assert client.is_closed
    assert usage_recorder.pending == 0
    assert not token_worker.alive
    assert not any(helper.is_alive() for helper in helpers)  # terminated and joined, no orphan
    assert [r.model_requested async for r in UsageRecord.objects.all()] == ["m"]
    await server.wait(timeout=5)  # the lifespan task ends after shutdown
    assert upstream_client(PROVIDER) is not client  # the loop's cache was emptied too
