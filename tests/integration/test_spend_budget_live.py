"""A money budget across processes: two daphne-served gateways sharing one SQLite file
and one redis-server, a team with a $0.70 daily spend budget, priced by the provider's
``ONE_PRICES`` override (helper A's loader: USD per million tokens), requests spread over
both; then a restart with Redis flushed, where the counter is seeded from the usage rows.

Every call of the scenario upstream reports 10 output tokens, and asks for
``max_tokens=10``: at $10 000 per million output tokens (input free) the reservation is
the real cost, $0.10, so the budget admits exactly seven calls whatever the concurrency."""

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import anthropic
import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration

ATTEMPTS = 20
ADMITTED = 7  # $0.70 / $0.10
PRICES = json.dumps({"gpt-4o": {"input": 0, "output": 10_000}})
CREATE_TEAM = (
    "from decimal import Decimal; from teams.models import Team; "
    "from teams.services import gateway_key_create; "
    "team = Team.objects.create(name='shared', spend_budget_usd=Decimal('0.70'), spend_budget_period='day'); "
    "print(gateway_key_create(team=team)[1])"
)
# Under a dollar the amounts read to a hundredth of a cent.
SPENT = re.compile(
    r"team 'shared' has spent \$(\d+\.\d{4}) of its \$0\.7000 budget per day \(the budget resets at "
)


def _create_team(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_TEAM],
        cwd=REPO_ROOT,
        env={**env, "PATH": os.environ["PATH"]},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _wait_until_key_works(gateway: GatewayProcess, key: str) -> None:
    deadline = time.monotonic() + 10
    while httpx.get(f"{gateway.base_url}/v1/models", headers={"x-api-key": key}).status_code != 200:
        assert time.monotonic() < deadline, f"{gateway.base_url} never saw the new team"
        time.sleep(0.1)


def _attempt(gateway: GatewayProcess, key: str) -> tuple[int, str]:
    """(status, the refusal's message and retry-after) of one call."""
    client = anthropic.Anthropic(api_key=key, base_url=gateway.base_url, max_retries=0)
    try:
        client.messages.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    except anthropic.RateLimitError as refused:
        body = cast(dict[str, Any], refused.body)
        return 429, f"{body['error']['message']} retry-after={refused.response.headers['retry-after']}"
    return 200, ""


def _alert_lines(*gateways: GatewayProcess) -> list[str]:
    return [line for g in gateways for line in g.log().splitlines() if "alert threshold" in line]


def test_two_processes_hold_a_spend_budget_exactly_and_a_restart_keeps_it(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with redis_server.client() as client:
        client.flushall()
    with ScenarioUpstream() as upstream:
        env = {
            "ONE_API_KEY": "k1",
            "ONE_BASE_URL": upstream.base_url,
            "ONE_PRICES": PRICES,
            "REDIS_URL": redis_server.url,
        }
        with GatewayProcess(tmp_path, env) as first, ThreadPoolExecutor(max_workers=8) as pool:
            second = GatewayProcess(tmp_path, env)
            starting = pool.submit(second.start)  # the first has migrated the shared file
            try:
                key = _create_team(first.env)
                starting.result()
                gateways = [first, second]
                for gateway in gateways:
                    _wait_until_key_works(gateway, key)
                outcomes = list(pool.map(lambda i: _attempt(gateways[i % 2], key), range(ATTEMPTS)))
                time.sleep(0.5)  # the settlements' background writes and their log lines
                alerts = _alert_lines(first, second)
            finally:
                second.stop()
        statuses = [status for status, _ in outcomes]
        assert statuses.count(200) == ADMITTED, outcomes
        assert len(upstream.calls) == ADMITTED
        for status, message in outcomes:
            if status == 429:
                spent = SPENT.search(message)
                assert spent is not None, message
                assert spent.group(1) == "0.7000"  # counted and reserved: never past the budget
                retry_after = int(message.rsplit("retry-after=", 1)[1])
                assert 1 <= retry_after <= 86_400
        assert len(alerts) == 1, alerts  # 80 %: once across both processes
        assert re.search(
            r"team 'shared' has spent \$0\.[5-7]\d{3} of its \$0\.7000 budget per day", alerts[0]
        )

        with redis_server.client() as client:
            client.flushall()  # the counters are gone; the usage rows (drained at stop) remain
        with GatewayProcess(tmp_path, env) as restarted:
            _wait_until_key_works(restarted, key)
            status, message = _attempt(restarted, key)
        assert status == 429
        spent = SPENT.search(message)
        assert spent is not None, message
        assert spent.group(1) == "0.7000"  # seeded from Sum(cost_usd) of the day's rows
        assert len(upstream.calls) == ADMITTED
