"""Usage still buffered when a gateway is stopped while its database is unreachable goes
to the local spool, and the next start writes it to the database, once.

The database is made unreachable for real: the directory of the SQLite file is moved
away while the gateway runs, so every new connection fails ("unable to open database
file", an ``OperationalError``, as a PostgreSQL that is down gives)."""

import json
import sqlite3
from pathlib import Path

import anthropic
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream

pytestmark = pytest.mark.integration

REQUESTS = 30
CLEAN_EXIT = {"daphne": 0, "uvicorn": 0}  # a finished drain exits 0 under either server


def _usage_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM teams_usagerecord").fetchone()[0])


def _spooled(spool: Path) -> list[dict[str, object]]:
    if not spool.is_dir():
        return []
    lines = [line for path in sorted(spool.iterdir()) for line in path.read_text().splitlines()]
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_usage_buffered_while_the_database_is_down_is_spooled_at_sigterm_and_written_at_the_next_start(
    tmp_path: Path, server: str
) -> None:
    database_dir, away = tmp_path / "db", tmp_path / "db-away"
    database_dir.mkdir()
    spool = tmp_path / "spool"
    with ScenarioUpstream() as upstream:
        env = {
            "SCENARIO_API_KEY": "sk-scenario-upstream-key",
            "SCENARIO_BASE_URL": upstream.base_url,
            "DATABASE_URL": f"sqlite:///{database_dir / 'gateway.sqlite3'}",
            "VANDAMME_USAGE_SPOOL_DIR": str(spool),
            "VANDAMME_USAGE_FLUSH_SECONDS": "600",  # everything is still buffered at SIGTERM
        }
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            client = anthropic.Anthropic(api_key="anything", base_url=gateway.base_url, max_retries=0)
            for _ in range(REQUESTS):
                client.messages.create(
                    model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
                )
            database_dir.rename(away)  # the database is unreachable from here on
        log = gateway.log()
        assert gateway.process is not None
        assert gateway.process.returncode == CLEAN_EXIT[server], log
        assert f"{REQUESTS} usage records spooled to {spool}" in log
        assert "Traceback" not in log
        assert len(_spooled(spool)) == REQUESTS
        assert {record["model_requested"] for record in _spooled(spool)} == {"gpt-4o"}
        assert _usage_count(away / "gateway.sqlite3") == 0

        away.rename(database_dir)  # the database is back; a new process starts
        for _ in range(2):  # and a second restart writes nothing twice
            with GatewayProcess(tmp_path, env, server=server) as restarted:
                pass
            assert restarted.process is not None
            assert restarted.process.returncode == CLEAN_EXIT[server], restarted.log()
            assert _usage_count(database_dir / "gateway.sqlite3") == REQUESTS
            assert _spooled(spool) == []
