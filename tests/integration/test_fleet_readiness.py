"""/ready follows what the data plane can do: through a PostgreSQL stall (SIGSTOP) a
gateway with Redis keeps serving from its snapshot, so it stays ready and reports the
database as down (issue 11, item 6)."""

import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.fleet import Fleet, api_client
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.postgres_server import PG_BIN, PostgresServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def stalling_postgres() -> Iterator[PostgresServer]:
    """Its own server: the test freezes it."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL is not installed")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_ready_stays_200_and_requests_are_served_through_a_database_stall(
    tmp_path: Path, stalling_postgres: PostgresServer, redis_server: RedisServer
) -> None:
    with ScenarioUpstream() as upstream:
        env = {"ONE_API_KEY": "k1", "ONE_BASE_URL": upstream.base_url, "REDIS_URL": redis_server.url}
        fleet = Fleet(tmp_path, stalling_postgres, env)
        try:
            token = fleet.deploy_job()
            gateway = fleet.start("uvicorn")
            api = api_client(gateway, token)
            team = api.post("/api/teams/", json={"name": "stall"}).json()
            key = api.post("/api/gateway-keys/", json={"team": team["id"]}).json()["key"]
            client = anthropic.Anthropic(api_key=key, base_url=gateway.base_url, max_retries=0, timeout=10)

            def ask() -> float:
                started = time.monotonic()
                client.messages.create(
                    model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
                )
                return time.monotonic() - started

            ask()
            assert httpx.get(f"{gateway.base_url}/ready", timeout=10).status_code == 200
            stalling_postgres.freeze()
            try:
                time.sleep(2.5)  # longer than the TTL and the database check cadence
                took = [ask() for _ in range(5)]
                ready = httpx.get(f"{gateway.base_url}/ready", timeout=10)
            finally:
                stalling_postgres.thaw()
        finally:
            fleet.stop()
    print(f"during the stall: /ready {ready.status_code}, calls took {[round(t * 1000) for t in took]} ms")  # noqa: T201
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == {"ok": False, "error": "timed out"}
    assert ready.json()["checks"]["redis"]["ok"] is True
    assert max(took) < 1.0, took
