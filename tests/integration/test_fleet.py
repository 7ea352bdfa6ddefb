"""Issue 11's "must show", on real servers: haproxy (deploy/haproxy/haproxy.cfg) in front of
two gateways (daphne and uvicorn, ``serve --skip-load`` after a migrate-and-load step) on
PostgreSQL and redis-server, with the mock upstream and a steady mixed load (both doors,
streamed and not, through the official SDKs).

(a) SIGTERM each gateway in turn and start it again: 0 failed client requests, usage rows
    equal the answered requests.
(b) A change through the REST API on one gateway is served by the other within 1 s, after
    an idle gap.
(c) Redis killed and restarted under load: no 5xx, and limits are enforced again within 1 s.
(d) A team deleted under load: every other team's usage row is still written.

PostgreSQL: the database of the PostgreSQL pass, or a throwaway cluster on the SQLite pass
(tests/postgres_server.py), so this runs in both passes.
"""

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import psycopg
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.haproxy_fleet import (
    HAPROXY,
    MODEL,
    PROXY_KEY,
    HAProxy,
    Load,
    api_token,
    deploy_step,
    restart,
)
from tests.mock_upstream import MockUpstream
from tests.postgres_database import PostgresDatabase
from tests.redis_server import REDIS_SERVER, RedisServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (scripts/_install_haproxy.sh)"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]

LOAD_SECONDS = 3.0
USAGE_WAIT_SECONDS = 20.0


@dataclass
class Fleet:
    database_url: str
    redis: RedisServer
    gateways: dict[str, GatewayProcess]
    haproxy: HAProxy
    token: str

    def api(self, gateway: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.gateways[gateway].base_url}/api/{path}"
        return httpx.request(method, url, headers=headers, timeout=10, **kwargs)

    def usage_rows(self, team: str | None = None) -> int:
        query = "SELECT count(*) FROM teams_usagerecord"
        with psycopg.connect(self.database_url) as connection:
            if team is None:
                row = connection.execute(query).fetchone()
            else:
                row = connection.execute(query + " WHERE team_name = %s", [team]).fetchone()
        return int(row[0]) if row else 0

    def team_key(self, name: str, **limits: int) -> tuple[int, str]:
        team = self.api("daphne", "POST", "teams/", json={"name": name, **limits})
        assert team.status_code == 201, team.text
        key = self.api("uvicorn", "POST", "gateway-keys/", json={"team": team.json()["id"], "label": name})
        assert key.status_code == 201, key.text
        secret = str(key.json()["key"])
        self.wait_until_accepted(secret)
        return int(team.json()["id"]), secret

    def wait_until_accepted(self, key: str) -> None:
        """A new key is in force on every process within 1 s of its commit (test b), not at
        once: wait for both gateways to accept it (``/v1/models`` writes no usage row), so a
        load started next measures what it means to, not the propagation window."""
        deadline = time.monotonic() + 5
        for gateway in self.gateways.values():
            url = f"{gateway.base_url}/v1/models"
            while httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code != 200:
                assert time.monotonic() < deadline, f"{gateway.server} never accepted the new key"
                time.sleep(0.05)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    directory = tmp_path_factory.mktemp("fleet")
    with PostgresDatabase() as database_url, MockUpstream(chunks=8, delay_ms=20, record=False) as upstream:
        redis = RedisServer(directory)
        redis.start()
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(directory),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "PROXY_API_KEY": PROXY_KEY,
            "MOCK_API_KEY": "sk-fleet-upstream",
            "MOCK_BASE_URL": upstream.base_url,
            "VANDAMME_CONFIG_FILE": str(directory / "absent-local.toml"),
            "VANDAMME_USER_CONFIG_FILE": str(directory / "absent-user.toml"),
        }
        deploy_step(env)
        token = api_token(env)
        gateways = {
            server: GatewayProcess(directory, env, server=server, args=["--skip-load"])
            for server in ("daphne", "uvicorn")
        }
        haproxy = HAProxy(directory, {name: gateway.port for name, gateway in gateways.items()})
        try:
            for gateway in gateways.values():
                gateway.start(timeout=120)
            haproxy.start()
            yield Fleet(database_url, redis, gateways, haproxy, token)
        finally:
            haproxy.stop()
            for gateway in gateways.values():
                gateway.stop()
            redis.stop()


def _wait_for_rows(fleet: Fleet, expected: int, team: str | None = None, baseline: int = 0) -> int:
    """The usage rows once they stop changing (written every second by each gateway)."""
    deadline = time.monotonic() + USAGE_WAIT_SECONDS
    rows = fleet.usage_rows(team) - baseline
    while rows != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        rows = fleet.usage_rows(team) - baseline
    return rows


def _logs(fleet: Fleet) -> str:
    return "\n".join(gateway.log()[-3000:] for gateway in fleet.gateways.values())


def test_a_sigterm_and_restart_under_load_fails_no_request_and_loses_no_usage(fleet: Fleet) -> None:
    baseline = fleet.usage_rows()
    load = Load(fleet.haproxy.base_url).start()
    try:
        time.sleep(LOAD_SECONDS)
        exit_codes = {name: restart(gateway) for name, gateway in fleet.gateways.items()}
        time.sleep(LOAD_SECONDS)
    finally:
        load.stop()
    assert dict(load.failures) == {}, _logs(fleet)
    assert exit_codes == {"daphne": 0, "uvicorn": 0}
    assert load.ok > 50
    assert _wait_for_rows(fleet, load.ok, baseline=baseline) == load.ok


def test_b_a_rest_change_on_one_gateway_is_served_by_the_other_within_a_second(fleet: Fleet) -> None:
    name = f"fleet-{uuid.uuid4().hex[:8]}"
    other = anthropic.Anthropic(api_key=PROXY_KEY, base_url=fleet.gateways["uvicorn"].base_url, max_retries=0)
    time.sleep(5)  # both gateways idle
    created = fleet.api("daphne", "POST", "aliases/", json={"name": name, "target": f"mock:{MODEL}"})
    committed = time.monotonic()
    assert created.status_code == 201, created.text
    served_after = None
    while time.monotonic() - committed < 10:
        try:
            other.messages.create(model=name, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        except anthropic.APIStatusError:
            time.sleep(0.02)
            continue
        served_after = time.monotonic() - committed
        break
    assert served_after is not None
    assert served_after <= 1.0


def test_c_redis_killed_and_restarted_under_load(fleet: Fleet) -> None:
    load = Load(fleet.haproxy.base_url, threads=4).start()
    try:
        time.sleep(1)
        fleet.redis.stop()
        # A team with a limit of 3 a minute, made while Redis is away (the database is the
        # source of truth); it calls nothing until Redis is back.
        _, limited_key = fleet.team_key(f"limited-{uuid.uuid4().hex[:8]}", requests_per_minute=3)
        time.sleep(LOAD_SECONDS)
        fleet.redis.start(same_port=True)
        answering = time.monotonic()
        time.sleep(1)
        checked_after = time.monotonic() - answering
        # Through haproxy, so on both gateways: the count is shared again only if both
        # went back to Redis (in memory, each process would admit 3 of its own).
        statuses = _calls_over_the_limit(fleet, limited_key, per_minute=3)
        time.sleep(1)
    finally:
        load.stop()
    five_hundreds = {status: count for status, count in load.statuses.items() if status >= 500}
    assert five_hundreds == {}, _logs(fleet)
    assert dict(load.failures) == {}, _logs(fleet)
    assert checked_after < 1.2
    assert statuses == [200, 200, 200, 429], _logs(fleet)


def _calls_over_the_limit(fleet: Fleet, key: str, *, per_minute: int) -> list[int]:
    """The statuses of ``per_minute + 1`` calls with ``key``, one after another."""
    client = anthropic.Anthropic(api_key=key, base_url=fleet.haproxy.base_url, max_retries=0)
    statuses = []
    for _ in range(per_minute + 1):
        try:
            client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
            statuses.append(200)
        except anthropic.APIStatusError as error:
            statuses.append(error.status_code)
    return statuses


def test_d_a_team_deleted_under_load_loses_no_other_usage_row(fleet: Fleet) -> None:
    doomed_id, doomed_key = fleet.team_key(f"doomed-{uuid.uuid4().hex[:8]}")
    kept_name = f"kept-{uuid.uuid4().hex[:8]}"
    _, kept_key = fleet.team_key(kept_name)
    kept = Load(fleet.haproxy.base_url, api_key=kept_key, threads=3).start()
    doomed = Load(fleet.haproxy.base_url, api_key=doomed_key, threads=3).start()
    try:
        time.sleep(LOAD_SECONDS)
        deleted = fleet.api("daphne", "DELETE", f"teams/{doomed_id}/")
        time.sleep(LOAD_SECONDS)
    finally:
        doomed.stop()
        kept.stop()
    assert deleted.status_code == 204, deleted.text
    assert dict(kept.failures) == {}
    assert kept.ok > 20
    assert _wait_for_rows(fleet, kept.ok, team=kept_name) == kept.ok, _logs(fleet)


def test_haproxy_runs_the_shipped_configuration(fleet: Fleet) -> None:
    config = fleet.haproxy.config.read_text()
    assert "option httpchk GET /ready" in config
    assert f"server daphne 127.0.0.1:{fleet.gateways['daphne'].port}" in config
    assert Path(fleet.haproxy.log_path).exists()
