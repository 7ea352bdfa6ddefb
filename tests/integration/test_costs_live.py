"""Costs in a real gateway process (both servers): prices from the environment, a bad one
reported at start-up while the rest loads, the cost header on a whole answer, the
access line and the cost counter."""

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.observability.conftest import parse_samples, value

pytestmark = pytest.mark.integration
BODY = {"model": "house-model", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    prices = {"house-model": {"input": 2, "output": 8}, "broken": {"input": -1, "output": 1}}
    with ScenarioUpstream() as upstream:
        env = {
            "HOUSE_API_KEY": "house-key",
            "HOUSE_BASE_URL": upstream.base_url,
            "HOUSE_PRICES": json.dumps(prices),
            "VDM_DEFAULT_PROVIDER": "house",
            "LOG_FORMAT": "json",
        }
        directory: Path = tmp_path_factory.mktemp(f"costs-{request.param}")
        with GatewayProcess(directory, env, server=request.param) as process:
            yield process


def test_a_whole_answer_carries_its_cost_and_the_bad_price_was_reported(gateway: GatewayProcess) -> None:
    before = parse_samples(httpx.get(f"{gateway.base_url}/metrics", timeout=10).text)
    response = httpx.post(f"{gateway.base_url}/v1/messages", json=BODY, timeout=10)
    after = parse_samples(httpx.get(f"{gateway.base_url}/metrics", timeout=10).text)

    assert response.status_code == 200, response.text
    # The scenario upstream reports 50 prompt and 10 completion tokens: 50 × $2 + 10 × $8 per million.
    assert Decimal(response.headers["x-vandamme-cost-usd"]) == Decimal("0.00018")
    labels = {"provider": "house", "model": "house-model", "team": ""}
    counted = value(after, "vandamme_cost_usd_total", **labels) - value(
        before, "vandamme_cost_usd_total", **labels
    )
    assert counted == pytest.approx(0.00018)
    log = gateway.log()
    assert "price house:broken (HOUSE_PRICES): input: a price cannot be negative" in log
    access = [json.loads(line) for line in log.splitlines() if '"vandamme.access"' in line]
    assert any(line.get("cost_usd") == "0.00018" for line in access)
