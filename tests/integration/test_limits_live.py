"""Limits across processes: two daphne-served gateways sharing one SQLite file and one
redis-server, a team with a requests-per-minute limit, requests spread over both."""

import os
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
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream
from tests.redis_server import RedisServer

pytestmark = pytest.mark.integration

REQUESTS_PER_MINUTE = 7
ATTEMPTS = 20

CREATE_TEAM = (
    "from teams.models import Team; from teams.services import gateway_key_create; "
    f"team = Team.objects.create(name='shared', requests_per_minute={REQUESTS_PER_MINUTE}); "
    "print(gateway_key_create(team=team)[1])"
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
    """(status, retry-after or the answer's text)."""
    client = anthropic.Anthropic(api_key=key, base_url=gateway.base_url, max_retries=0)
    try:
        message = client.messages.create(
            model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.RateLimitError as refused:
        error_type = cast(dict[str, Any], refused.body)["error"]["type"]
        return 429, refused.response.headers.get(
            "retry-after", ""
        ) if error_type == "rate_limit_error" else ""
    block = message.content[0]
    return 200, block.text if block.type == "text" else ""


def test_two_processes_admit_exactly_the_teams_limit(tmp_path: Path, redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.flushall()
    with ScenarioUpstream() as upstream:
        env = {"ONE_API_KEY": "k1", "ONE_BASE_URL": upstream.base_url, "REDIS_URL": redis_server.url}
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
            finally:
                second.stop()
    statuses = [status for status, _ in outcomes]
    assert statuses.count(200) == REQUESTS_PER_MINUTE
    assert statuses.count(429) == ATTEMPTS - REQUESTS_PER_MINUTE
    assert all(text == GREETING for status, text in outcomes if status == 200)
    assert all(1 <= int(retry or 0) <= 60 for status, retry in outcomes if status == 429)
    assert len(upstream.calls) == REQUESTS_PER_MINUTE
