"""A gateway stopped with SIGTERM, under daphne (a reactor trigger) or uvicorn (ASGI
lifespan), shuts down gracefully: it closes its pooled upstream clients and writes the
usage it still buffers."""

import signal
import sqlite3
from pathlib import Path

import anthropic
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream

pytestmark = pytest.mark.integration

# After a graceful shutdown uvicorn raises the signal it got again, so it ends "killed by
# SIGTERM" (its log says the shutdown completed); daphne exits 0.
CLEAN_EXIT = {"daphne": 0, "uvicorn": -signal.SIGTERM}


def _usage_rows(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT model_requested, status FROM teams_usagerecord").fetchall()


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_sigterm_closes_the_upstream_clients_and_writes_the_usage(tmp_path: Path, server: str) -> None:
    with ScenarioUpstream() as upstream:
        env = {
            "SCENARIO_API_KEY": "sk-scenario-upstream-key",
            "SCENARIO_BASE_URL": upstream.base_url,
            "VANDAMME_USAGE_FLUSH_SECONDS": "600",  # the record is still buffered at SIGTERM
        }
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            client = anthropic.Anthropic(api_key="anything", base_url=gateway.base_url, max_retries=0)
            answer = client.messages.create(
                model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
            assert answer.content[0].type == "text"
            assert answer.content[0].text.strip() == GREETING
        log = gateway.log()
    assert gateway.process is not None
    assert gateway.process.returncode == CLEAN_EXIT[server], log
    assert "POST /v1/messages" in log
    assert "Unclosed client session" not in log
    assert "Unclosed connector" not in log
    assert "Traceback" not in log
    if server == "uvicorn":
        assert "Application shutdown complete." in log
    assert _usage_rows(tmp_path / "gateway.sqlite3") == [("gpt-4o", 200)]
