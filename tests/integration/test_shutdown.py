"""A daphne-served gateway closes its pooled upstream clients when it stops."""

from pathlib import Path

import anthropic
import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream

pytestmark = pytest.mark.integration


def test_stopping_closes_the_upstream_clients(tmp_path: Path) -> None:
    with ScenarioUpstream() as upstream:
        env = {"SCENARIO_API_KEY": "sk-scenario-upstream-key", "SCENARIO_BASE_URL": upstream.base_url}
        with GatewayProcess(tmp_path, env) as gateway:
            client = anthropic.Anthropic(api_key="anything", base_url=gateway.base_url, max_retries=0)
            answer = client.messages.create(
                model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
            assert answer.content[0].type == "text"
            assert answer.content[0].text.strip() == GREETING
        log = gateway.log()
    assert "POST /v1/messages" in log
    assert "Unclosed client session" not in log
    assert "Unclosed connector" not in log
