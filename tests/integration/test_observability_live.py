"""Metrics and logs of real gateway processes: two daphne processes sharing a
PROMETHEUS_MULTIPROC_DIR report the same totals, and LOG_FORMAT=json writes one JSON
object per access line, findable by the x-request-id the client got."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway import GatewayProcess
from tests.mock_upstream.harness import MockUpstream
from tests.observability.conftest import delta, parse_samples, value

pytestmark = pytest.mark.integration

LABELS = {"provider": "mock", "model": "gpt-4o", "team": ""}
BODY = {"model": "gpt-4o", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    shared = tmp_path_factory.mktemp("two-gateways")
    metrics_dir = shared / "prometheus"
    metrics_dir.mkdir()
    with MockUpstream() as upstream:
        env = {
            "MOCK_API_KEY": "sk-mock-key-for-two-gateways",
            "MOCK_BASE_URL": upstream.base_url,
            "VDM_DEFAULT_PROVIDER": "mock",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "LOG_FORMAT": "json",
        }
        # Same database and metrics directory; the first one migrates, then the second starts.
        with GatewayProcess(shared, env) as first, GatewayProcess(shared, env) as second:
            yield first, second


def _scrape(gateway: GatewayProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{gateway.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    return parse_samples(response.text)


def test_two_processes_report_the_sum_of_their_traffic(
    two_gateways: tuple[GatewayProcess, GatewayProcess],
) -> None:
    first, second = two_gateways
    before = _scrape(first)
    for gateway, calls in ((first, 3), (second, 2)):
        for _ in range(calls):
            assert httpx.post(f"{gateway.base_url}/v1/messages", json=BODY, timeout=10).status_code == 200
    with httpx.stream(
        "POST", f"{second.base_url}/v1/messages", json={**BODY, "stream": True}, timeout=10
    ) as r:
        assert r.status_code == 200
        r.read()
    from_first, from_second = _scrape(first), _scrape(second)
    for scraped in (from_first, from_second):
        assert delta(before, scraped, "vandamme_requests_total", **LABELS, status="200") == 6
        assert delta(before, scraped, "vandamme_time_to_first_token_seconds_count", **LABELS) == 1
        assert value(scraped, "vandamme_active_streams", **LABELS) == 0
    assert value(from_first, "vandamme_upstream_keys", provider="mock", state="healthy") == 1


def _json_lines(log: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_json_logs_have_one_access_line_per_request_with_its_id(
    two_gateways: tuple[GatewayProcess, GatewayProcess],
) -> None:
    first, _ = two_gateways
    plain = httpx.post(
        f"{first.base_url}/v1/messages", json=BODY, timeout=10, headers={"x-request-id": "trace-1"}
    )
    with httpx.stream(
        "POST", f"{first.base_url}/v1/messages", json={**BODY, "stream": True}, timeout=10
    ) as r:
        r.read()
        stream_id = r.headers["x-request-id"]
    refused = httpx.post(f"{first.base_url}/v1/messages", content=b"nope", timeout=10)
    assert plain.headers["x-request-id"] == "trace-1"
    assert refused.status_code == 400
    wanted = {"trace-1", stream_id, refused.headers["x-request-id"]}
    access: dict[object, dict[str, object]] = {}
    for _ in range(50):  # the line is written once the response is done: give it a moment
        access = {
            line["request_id"]: line
            for line in _json_lines(Path(first.log_path).read_text())
            if line.get("logger") == "vandamme.access"
        }
        if wanted <= set(access):
            break
        time.sleep(0.1)
    assert wanted <= set(access)
    assert access["trace-1"]["status"] == 200
    assert access["trace-1"]["provider"] == "mock"
    assert access[stream_id]["streamed"] is True
    assert access[refused.headers["x-request-id"]]["status"] == 400
    assert all(isinstance(line["time"], str) for line in access.values())


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_serve_writes_one_access_line_per_request_under_either_server(tmp_path: Path, server: str) -> None:
    """The gateway's own line only: a server's access line beside it logged every request
    twice (uvicorn's came back once loading the app re-applied Django's LOGGING)."""
    with MockUpstream() as upstream:
        env = {
            "MOCK_API_KEY": "sk-mock-key-for-one-line",
            "MOCK_BASE_URL": upstream.base_url,
            "VDM_DEFAULT_PROVIDER": "mock",
        }
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            answer = httpx.post(
                f"{gateway.base_url}/v1/messages", json=BODY, timeout=10, headers={"x-request-id": "once-1"}
            )
            assert answer.status_code == 200
            lines: list[str] = []
            for _ in range(50):
                lines = [line for line in gateway.log().splitlines() if "once-1" in line]
                if lines:
                    break
                time.sleep(0.1)
            time.sleep(0.3)  # a second line would come right after the first
            lines = [line for line in gateway.log().splitlines() if "once-1" in line]
    assert len(lines) == 1, lines
    assert "vandamme.access" in lines[0]
