"""A gateway stopped with SIGTERM, under daphne (``routing.daphne_server``) or uvicorn
(``routing.uvicorn_server``), drains: not ready at once, no new connections, the open
streams finish, then it closes its pooled upstream clients, writes the usage it still
buffers and exits 0."""

import signal
import sqlite3
import threading
import time
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream
from tests.mock_upstream import MockUpstream, stream_text

pytestmark = pytest.mark.integration

SLOW_CHUNKS, SLOW_DELAY_MS = 20, 150  # a 3 s stream
STREAMS = 10


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
    assert gateway.process.returncode == 0, log
    assert "POST /v1/messages" in log
    assert "Unclosed client session" not in log
    assert "Unclosed connector" not in log
    assert "Traceback" not in log
    if server == "uvicorn":
        assert "Application shutdown complete." in log
    assert _usage_rows(tmp_path / "gateway.sqlite3") == [("gpt-4o", 200)]


def _stream(base_url: str, started: threading.Semaphore, results: list[str | BaseException]) -> None:
    client = anthropic.Anthropic(api_key="anything", base_url=base_url, max_retries=0, timeout=60)
    try:
        with client.messages.stream(
            model="slow-model", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            text = ""
            for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    if not text:
                        started.release()
                    text += event.delta.text
            final = stream.get_final_message()
        results.append(text if final.stop_reason == "end_turn" else f"stopped: {final.stop_reason}")
    except BaseException as error:  # any failure is the test's answer, not a crash of the thread
        started.release()
        results.append(error)


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_sigterm_drains_open_streams(tmp_path: Path, server: str) -> None:
    """Ten streams are open at SIGTERM: all ten finish, /ready says 503 meanwhile, the
    port stops accepting, the usage is written (200 each) and the process exits 0.
    Before the drain, daphne cut all ten (usage 499) while uvicorn finished them."""
    with MockUpstream(chunks=SLOW_CHUNKS, delay_ms=SLOW_DELAY_MS) as upstream:
        env = {"SLOW_API_KEY": "sk-slow-upstream", "SLOW_BASE_URL": upstream.base_url}
        env["VANDAMME_USAGE_FLUSH_SECONDS"] = "600"  # the records are still buffered at SIGTERM
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            keep_alive = httpx.Client(base_url=gateway.base_url, timeout=5)
            assert keep_alive.get("/health").status_code == 200  # a connection open before SIGTERM
            started = threading.Semaphore(0)
            results: list[str | BaseException] = []
            threads = [
                threading.Thread(target=_stream, args=(gateway.base_url, started, results))
                for _ in range(STREAMS)
            ]
            for thread in threads:
                thread.start()
            for _ in threads:
                assert started.acquire(timeout=30)
            assert gateway.process is not None
            gateway.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            _assert_not_ready(keep_alive, server)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{gateway.base_url}/health", timeout=2)
            for thread in threads:
                thread.join(timeout=30)
            returncode = gateway.process.wait(timeout=30)
            keep_alive.close()
        log = gateway.log()
    expected = stream_text(SLOW_CHUNKS)
    assert [r if isinstance(r, str) else repr(r) for r in results] == [expected] * STREAMS, log
    assert returncode == 0, log
    assert "Traceback" not in log
    assert _usage_rows(tmp_path / "gateway.sqlite3") == [("slow-model", 200)] * STREAMS


def _assert_not_ready(client: httpx.Client, server: str) -> None:
    """daphne keeps idle connections through the drain and answers on them; uvicorn
    closes them at once (either way no new work is taken)."""
    try:
        answer = client.get("/ready")
    except httpx.TransportError:
        assert server == "uvicorn"
        return
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"draining": {"ok": False, "error": "draining"}}


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_the_drain_stops_at_the_grace(tmp_path: Path, server: str) -> None:
    """A stream longer than VANDAMME_DRAIN_SECONDS is cut when the grace runs out: the
    process still writes its usage and exits 0, in about the grace, not the stream's time."""
    with MockUpstream(chunks=100, delay_ms=100) as upstream:  # a 10 s stream
        env = {"SLOW_API_KEY": "sk-slow-upstream", "SLOW_BASE_URL": upstream.base_url}
        env["VANDAMME_DRAIN_SECONDS"] = "1"
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            started = threading.Semaphore(0)
            results: list[str | BaseException] = []
            thread = threading.Thread(target=_stream, args=(gateway.base_url, started, results))
            thread.start()
            assert started.acquire(timeout=30)
            assert gateway.process is not None
            signalled = time.monotonic()
            gateway.process.send_signal(signal.SIGTERM)
            returncode = gateway.process.wait(timeout=30)
            stopped_after = time.monotonic() - signalled
            thread.join(timeout=30)
        log = gateway.log()
    assert returncode == 0, log
    assert 1.0 <= stopped_after < 5.0, log
    assert results != [stream_text(100)]  # cut, not finished
    assert len(_usage_rows(tmp_path / "gateway.sqlite3")) == 1
