"""Two gateway processes (daphne and uvicorn) on one PostgreSQL and one Redis: a change
made through the REST API on one is in force on the other within a second of its commit,
also when the other was idle (issue 11, item 1).

Each trial waits an idle gap, then either creates a gateway key on A (and polls B until
B accepts it) or revokes the key it created (and polls B for 1.5 s: no request may be
accepted a second after the DELETE was answered). ``VANDAMME_FLEET_GAPS`` sets the gaps, e.g.
``5*20,60*20`` for the full measurement (the default keeps the test around two minutes).
"""

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.fleet import Fleet, api_client
from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.postgres_server import PostgresServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration

DEFAULT_GAPS = "5*4,60*2"
REVOKED_WATCH_SECONDS = 1.5


def _gaps() -> list[float]:
    gaps: list[float] = []
    for part in os.environ.get("VANDAMME_FLEET_GAPS", DEFAULT_GAPS).split(","):
        seconds, _, count = part.partition("*")
        gaps += [float(seconds)] * int(count or 1)
    return gaps


@pytest.fixture
def fleet(tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer) -> Iterator[Fleet]:
    with redis_server.client() as client:
        client.flushall()
    with ScenarioUpstream() as upstream:
        env = {"ONE_API_KEY": "k1", "ONE_BASE_URL": upstream.base_url, "REDIS_URL": redis_server.url}
        fleet = Fleet(tmp_path, postgres_server, env)
        try:
            yield fleet
        finally:
            fleet.stop()


def _status(gateway: GatewayProcess, key: str) -> int:
    return httpx.get(f"{gateway.base_url}/v1/models", headers={"x-api-key": key}, timeout=5).status_code


def _seconds_until_accepted(gateway: GatewayProcess, key: str, since: float) -> float:
    while _status(gateway, key) != 200:
        assert time.monotonic() - since < 5, "the new key was never accepted"
        time.sleep(0.01)
    return time.monotonic() - since


def _watch_revoked(gateway: GatewayProcess, key: str, since: float) -> tuple[float, list[float]]:
    """(seconds until refused, when each request was accepted) over REVOKED_WATCH_SECONDS."""
    refused_after: float | None = None
    accepted: list[float] = []
    while (elapsed := time.monotonic() - since) < REVOKED_WATCH_SECONDS:
        if _status(gateway, key) == 200:
            accepted.append(elapsed)
        elif refused_after is None:
            refused_after = elapsed
        time.sleep(0.01)
    assert refused_after is not None, "the revoked key was accepted throughout"
    return refused_after, accepted


def _summary(label: str, delays: list[float]) -> str:
    if not delays:
        return f"{label}: no trials"
    return (
        f"{label}: n={len(delays)} p50={statistics.median(delays) * 1000:.0f} ms "
        f"max={max(delays) * 1000:.0f} ms"
    )


def test_a_key_created_or_revoked_on_one_process_is_in_force_on_the_other_within_a_second(
    fleet: Fleet,
) -> None:
    token = fleet.deploy_job()
    first, second = fleet.start("daphne"), fleet.start("uvicorn")
    for gateway in (first, second):  # as a load balancer does before it sends traffic
        assert httpx.get(f"{gateway.base_url}/ready", timeout=10).status_code == 200
    api = api_client(first, token)
    team = api.post("/api/teams/", json={"name": "fleet"})
    assert team.status_code == 201, team.text
    delays: dict[tuple[str, float], list[float]] = {}
    late_accepts: list[float] = []
    key: dict[str, str] | None = None
    for gap in _gaps():
        time.sleep(gap)
        if key is None:
            created = api.post("/api/gateway-keys/", json={"team": team.json()["id"], "label": "trial"})
            committed = time.monotonic()  # the commit came before the answer
            assert created.status_code == 201, created.text
            key = created.json()
            delay = _seconds_until_accepted(second, key["key"], committed)
            delays.setdefault(("accepted", gap), []).append(delay)
        else:
            assert api.delete(f"/api/gateway-keys/{key['id']}/").status_code == 204
            refused_after, accepted = _watch_revoked(second, key["key"], time.monotonic())
            delays.setdefault(("refused", gap), []).append(refused_after)
            late_accepts += [moment for moment in accepted if moment >= 1.0]
            key = None
    for (what, gap), values in sorted(delays.items()):
        print(_summary(f"new key {what} on the other process after {gap:.0f} s idle", values))
    assert not late_accepts, f"a revoked key was accepted {late_accepts} s after the DELETE"
    assert all(delay < 1.0 for values in delays.values() for delay in values), delays
