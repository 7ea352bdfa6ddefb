"""Routing against real servers: a daphne-served gateway and an OpenAI-format upstream on
127.0.0.1, driven by the official anthropic SDK. Key rotation, cooldowns, passthrough,
retries, fallbacks, and two gateway processes sharing one database."""

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream

pytestmark = pytest.mark.integration

GATEWAY_KEY = "vdm-gateway-key-for-tests"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, ScenarioUpstream]]:
    with ScenarioUpstream() as upstream:
        url = upstream.base_url
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "VDM_DEFAULT_PROVIDER": "rr",
            "RR_API_KEY": "key-a key-b",
            "SKIP_API_KEY": "bad-key good-key",
            "COOL_API_KEY": "hot-key cool-key",
            "PASS_API_KEY": "!PASSTHRU",
            "RETRY_API_KEY": "retry-key",
            "PRIMARY_API_KEY": "primary-key",
            "PRIMARY_MAX_RETRIES": "0",
            "PRIMARY_FALLBACKS": "backup",
            "BACKUP_API_KEY": "backup-key",
        }
        for name in ("RR", "SKIP", "COOL", "PASS", "RETRY", "PRIMARY", "BACKUP"):
            env[f"{name}_BASE_URL"] = url
        upstream.always_fail.update({"bad-key": 401, "hot-key": 429, "primary-key": 503})
        with GatewayProcess(tmp_path_factory.mktemp("live"), env) as gateway:
            yield gateway, upstream


def _client(gateway: GatewayProcess, **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=GATEWAY_KEY, base_url=gateway.base_url, max_retries=0, default_headers=headers
    )


def _ask(client: anthropic.Anthropic, model: str, *, stream: bool = False) -> tuple[str, httpx.Headers]:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
    if stream:
        with client.messages.stream(model=model, max_tokens=20, messages=messages) as events:
            return events.get_final_text(), httpx.Headers(dict(events.response.headers))
    raw = client.messages.with_raw_response.create(model=model, max_tokens=20, messages=messages)
    block = raw.parse().content[0]
    assert block.type == "text"
    return block.text, httpx.Headers(dict(raw.headers))


def _calls_since(upstream: ScenarioUpstream, start: int) -> list[str]:
    return upstream.keys_used()[start:]


def test_round_robin_over_two_keys_is_seen_upstream(live: tuple[GatewayProcess, ScenarioUpstream]) -> None:
    gateway, upstream = live
    start = len(upstream.calls)
    for _ in range(6):
        assert _ask(_client(gateway), "gpt-4o")[0] == GREETING
    used = _calls_since(upstream, start)
    assert sorted(used) == ["key-a"] * 3 + ["key-b"] * 3
    assert all(a != b for a, b in itertools.pairwise(used))  # alternating


@pytest.mark.parametrize("stream", [False, True])
def test_key_rejected_with_401_is_skipped(
    live: tuple[GatewayProcess, ScenarioUpstream], stream: bool
) -> None:
    gateway, upstream = live
    start = len(upstream.calls)
    for _ in range(3):
        text, headers = _ask(_client(gateway), "skip:gpt-4o", stream=stream)
        assert text.strip() == GREETING
        assert headers["x-vandamme-provider"] == "skip"
    assert "good-key" in _calls_since(upstream, start)


def test_429_cools_the_key_down(live: tuple[GatewayProcess, ScenarioUpstream]) -> None:
    gateway, upstream = live
    for _ in range(2):
        _ask(_client(gateway), "cool:gpt-4o")
    start = len(upstream.calls)
    for _ in range(4):
        assert _ask(_client(gateway), "cool:gpt-4o")[0] == GREETING
    assert _calls_since(upstream, start) == ["cool-key"] * 4  # hot-key sits out its retry-after


def test_passthrough_forwards_the_client_key_with_gateway_auth_on(
    live: tuple[GatewayProcess, ScenarioUpstream],
) -> None:
    gateway, upstream = live
    client = anthropic.Anthropic(
        api_key="client-own-upstream-key",
        base_url=gateway.base_url,
        max_retries=0,
        default_headers={"x-gateway-key": GATEWAY_KEY},
    )
    start = len(upstream.calls)
    assert _ask(client, "pass:gpt-4o")[0] == GREETING
    assert _calls_since(upstream, start) == ["client-own-upstream-key"]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(
            api_key="client-own-upstream-key", base_url=gateway.base_url, max_retries=0
        ).messages.create(model="pass:gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}])


def test_retry_then_success(live: tuple[GatewayProcess, ScenarioUpstream]) -> None:
    gateway, upstream = live
    upstream.fail_once["retry-key"] = [503]
    start = len(upstream.calls)
    assert _ask(_client(gateway), "retry:gpt-4o")[0] == GREETING
    assert _calls_since(upstream, start) == ["retry-key", "retry-key"]


def test_fallback_to_a_second_provider_says_who_served(live: tuple[GatewayProcess, ScenarioUpstream]) -> None:
    gateway, upstream = live
    start = len(upstream.calls)
    text, headers = _ask(_client(gateway), "primary:gpt-4o")
    assert text == GREETING
    assert headers["x-vandamme-provider"] == "backup"
    assert _calls_since(upstream, start) == ["primary-key", "backup-key"]


def test_unknown_gateway_key_is_refused(live: tuple[GatewayProcess, ScenarioUpstream]) -> None:
    gateway, _ = live
    client = anthropic.Anthropic(api_key="wrong", base_url=gateway.base_url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert GATEWAY_KEY not in str(caught.value)


def test_two_gateway_processes_see_a_change_within_a_second(tmp_path: Path) -> None:
    with ScenarioUpstream() as upstream:
        env = {"ONE_API_KEY": "k1", "ONE_BASE_URL": upstream.base_url, "VDM_ALIAS_FAST": "one:model-a"}
        with GatewayProcess(tmp_path, env) as first, GatewayProcess(tmp_path, env) as second:
            for gateway in (first, second):
                resolved = httpx.get(
                    f"{gateway.base_url}/v1/vandamme/resolve", params={"model": "fast"}
                ).json()
                assert resolved["upstream_model"] == "model-a"
            change = "from aliases.models import Alias; a = Alias.objects.get(name='fast'); a.target = 'one:model-b'; a.save()"
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", change],
                cwd=REPO_ROOT,
                env={**first.env, "PATH": os.environ["PATH"]},
                check=True,
                capture_output=True,
            )
            changed_at = time.monotonic()
            for gateway in (first, second):
                while True:
                    resolved = httpx.get(
                        f"{gateway.base_url}/v1/vandamme/resolve", params={"model": "fast"}
                    ).json()
                    if resolved["upstream_model"] == "model-b":
                        break
                    assert time.monotonic() - changed_at < 1.5, f"{gateway.base_url} still serves {resolved}"
                    time.sleep(0.05)
