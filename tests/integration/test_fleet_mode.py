"""``serve`` in a fleet: a replica never rewrites the shared rows from its own environment
unless told to (and then says what it changed), and a replica whose database or Redis is
wrong stops at once with one line (issue 11, item 8 and "bad configuration")."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.fleet import Fleet, api_client
from tests.integration.gateway import REPO_ROOT, free_port
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.integration


@pytest.fixture
def fleet(tmp_path: Path, postgres_server: PostgresServer) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, postgres_server, {"ONE_API_KEY": "k1", "ONE_BASE_URL": "http://127.0.0.1:9/v1"})
    try:
        yield fleet
    finally:
        fleet.stop()


def _base_url(fleet: Fleet, token: str) -> str:
    api = api_client(fleet.gateways[0], token)
    return str(api.get("/api/providers/one/").json()["base_url"])


def test_a_replica_with_another_environment_does_not_rewrite_the_shared_rows(fleet: Fleet) -> None:
    token = fleet.deploy_job()
    with ScenarioUpstream() as other:
        replica = fleet.start(env={"ONE_BASE_URL": other.base_url}, args=())  # plain `serve`
        assert _base_url(fleet, token) == "http://127.0.0.1:9/v1"
        assert "shared database (postgresql): serving the configuration in the database" in replica.log()
        loud = fleet.start(env={"ONE_BASE_URL": other.base_url}, args=("--load",))
        assert _base_url(fleet, token) == other.base_url
        assert "serve --load changed the shared configuration: provider one: updated base_url" in loud.log()


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VANDAMME_CONFIG_FILE": str(tmp_path / "absent.toml"),
        "VANDAMME_USER_CONFIG_FILE": str(tmp_path / "absent-user.toml"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(free_port())],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"DATABASE_URL": "postgres://vandamme:hunter2@127.0.0.1:{port}/vandamme"},
            "CommandError: cannot reach the database at 127.0.0.1:{port}/vandamme (OperationalError: ",
        ),
        (
            {"REDIS_URL": "redis://:hunter2@127.0.0.1:{port}/0"},
            "CommandError: cannot reach Redis at 127.0.0.1:{port}/0 (REDIS_URL: ConnectionError: ",
        ),
        ({"REDIS_URL": "http://127.0.0.1:{port}/0"}, "CommandError: REDIS_URL is not a Redis URL"),
    ],
)
def test_a_replica_that_cannot_reach_its_database_or_redis_stops_with_one_line(
    tmp_path: Path, env: dict[str, str], line: str
) -> None:
    port = free_port()  # nothing listens there
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"} | {
        k: v.format(port=port) for k, v in env.items()
    }
    done = _serve(tmp_path, env)
    assert done.returncode == 1
    assert done.stderr.strip().startswith(line.format(port=port)), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert "listening" not in done.stdout
