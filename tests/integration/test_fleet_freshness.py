"""Two gateway processes (daphne and uvicorn) on one PostgreSQL and one Redis: a change
made through the REST API on one is in force on the other within a second of its commit,
also when the other was idle (issue 11, item 1).

The change is a gateway key created or revoked on A (alternately); B is asked with bursts
of concurrent requests (the old code served the old snapshot to every request that
arrived while one of them checked the generation).
- Stale after idle: change on A, B idle for the gap, then one burst on B: every answer
  must follow the change.
- Latency after idle: B idle for the gap, change on A, then bursts on B every 20 ms:
  the time until a whole burst follows the change, and no wrong answer a second after it.
``VANDAMME_FLEET_GAPS`` sets the gaps, e.g. ``5*20,60*5`` for a full measurement.
"""

import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.fleet import Fleet, api_client
from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.postgres_server import PostgresServer
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration

DEFAULT_GAPS = "5*3,60*1"
BURST = 20
WATCH_SECONDS = 1.5
GIVE_UP = 5.0  # seconds: the latency recorded for a change never seen


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


class KeyFlipper:
    """Creates a gateway key on one process, revokes it next time, and so on."""

    def __init__(self, api: httpx.Client, team_id: int) -> None:
        self.api = api
        self.team_id = team_id
        self.key: dict[str, str] | None = None
        self.secret = ""

    def flip(self) -> int:
        """Make the change; the status the key must now get (200 accepted, 401 refused)."""
        if self.key is None:
            created = self.api.post("/api/gateway-keys/", json={"team": self.team_id, "label": "trial"})
            assert created.status_code == 201, created.text
            self.key = created.json()
            self.secret = self.key["key"]
            return 200
        assert self.api.delete(f"/api/gateway-keys/{self.key['id']}/").status_code == 204
        self.key = None
        return 401


def _burst(pool: ThreadPoolExecutor, gateway: GatewayProcess, secret: str) -> list[int]:
    def ask(_: int) -> int:
        url = f"{gateway.base_url}/v1/models"
        return httpx.get(url, headers={"x-api-key": secret}, timeout=10).status_code

    return list(pool.map(ask, range(BURST)))


def _latency(pool: ThreadPoolExecutor, gateway: GatewayProcess, secret: str, want: int) -> tuple[float, int]:
    """(seconds until a whole burst answers ``want``, wrong answers a second after the change)."""
    since = time.monotonic()
    in_force: float | None = None
    late_wrong = 0
    while (elapsed := time.monotonic() - since) < WATCH_SECONDS or (in_force is None and elapsed < GIVE_UP):
        statuses = _burst(pool, gateway, secret)
        if in_force is None and all(status == want for status in statuses):
            in_force = elapsed
        if elapsed >= 1.0:
            late_wrong += sum(status != want for status in statuses)
        time.sleep(0.02)
    return GIVE_UP if in_force is None else in_force, late_wrong


def _summary(label: str, values: list[float]) -> str:
    return f"{label}: n={len(values)} p50={statistics.median(values) * 1000:.0f} ms max={max(values) * 1000:.0f} ms"


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
    flipper = KeyFlipper(api, team.json()["id"])
    stale: dict[float, list[int]] = {}
    latencies: dict[float, list[float]] = {}
    late_wrong = 0
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        for gap in _gaps():  # stale after idle: the change is `gap` seconds old when B is asked
            want = flipper.flip()
            time.sleep(gap)
            stale.setdefault(gap, []).append(sum(s != want for s in _burst(pool, second, flipper.secret)))
        for gap in _gaps():  # latency after idle: B idle for `gap`, then the change
            time.sleep(gap)
            want = flipper.flip()
            in_force, wrong = _latency(pool, second, flipper.secret, want)
            latencies.setdefault(gap, []).append(in_force)
            late_wrong += wrong
    for gap, counts in sorted(stale.items()):
        print(f"stale answers in a burst of {BURST}, change {gap:.0f} s old, B idle: {counts}")  # noqa: T201
    for gap, values in sorted(latencies.items()):
        print(_summary(f"change in force on the idle process (idle {gap:.0f} s)", values))  # noqa: T201
    assert all(count == 0 for counts in stale.values() for count in counts), stale
    assert late_wrong == 0, f"{late_wrong} answers ignored a change made more than a second before"
    # The requirement is the assertion above (no wrong answer a second after the change);
    # a burst's start is only the moment it was sent, on a busy machine ~0.3 s before it ends.
    assert all(value < GIVE_UP for values in latencies.values() for value in values), latencies
