"""The real Claude Code CLI through the gateway, against an OpenAI-format upstream."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream

pytestmark = [pytest.mark.integration, pytest.mark.claude_code]

CLAUDE = REPO_ROOT / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"


def _require_claude() -> None:
    if not CLAUDE.exists() or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Claude Code CLI is not installed: scripts/test installs it with npm")
        pytest.skip("Claude Code CLI not installed (run scripts/test once)")


CLIENT_KEY = "sk-client-key-not-forwarded"
UPSTREAM_KEY = "sk-scenario-upstream-key"


def _run_claude(gateway: GatewayProcess, home: Path, prompt: str) -> dict[str, object]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.base_url,
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_ENABLE_TELEMETRY": "0",
    }
    command = [
        str(CLAUDE),
        "-p",
        prompt,
        "--model",
        "scenario:gpt-4o",
        "--output-format",
        "json",
        "--max-turns",
        "4",
        "--allowedTools",
        "Bash",
    ]
    completed = subprocess.run(
        command, env=env, cwd=home, capture_output=True, text=True, timeout=180, check=False
    )
    assert completed.returncode == 0, (
        f"claude failed:\n{completed.stdout}\n{completed.stderr}\n{gateway.log()}"
    )
    return json.loads(completed.stdout)


@pytest.fixture
def scenario_gateway(tmp_path: Path) -> Iterator[tuple[GatewayProcess, ScenarioUpstream]]:
    _require_claude()
    with (
        ScenarioUpstream() as upstream,
        GatewayProcess(
            tmp_path, {"SCENARIO_API_KEY": UPSTREAM_KEY, "SCENARIO_BASE_URL": upstream.base_url}
        ) as gateway,
    ):
        yield gateway, upstream


def _assert_streamed_with_the_gateways_key(upstream: ScenarioUpstream) -> None:
    """Claude Code silently repeats a call with ``stream: false`` when it cannot use the
    stream, so a broken stream can pass for success: every call must have streamed. And
    the client's own key (ANTHROPIC_API_KEY) must never travel upstream."""
    assert upstream.requests, "the upstream was never called"
    assert [request.get("stream") for request in upstream.requests] == [True] * len(upstream.requests)
    assert set(upstream.keys_used()) == {UPSTREAM_KEY}
    for headers, body in zip(upstream.headers, upstream.requests, strict=True):
        assert CLIENT_KEY not in json.dumps(headers)
        assert CLIENT_KEY not in json.dumps(body)


def test_claude_code_text_answer(
    scenario_gateway: tuple[GatewayProcess, ScenarioUpstream], tmp_path: Path
) -> None:
    gateway, upstream = scenario_gateway
    result = _run_claude(gateway, tmp_path, "Say hello.")
    assert result["is_error"] is False
    assert GREETING in str(result["result"])
    assert all(request["model"] == "gpt-4o" for request in upstream.requests)
    _assert_streamed_with_the_gateways_key(upstream)


def test_claude_code_bash_tool_round_trip(
    scenario_gateway: tuple[GatewayProcess, ScenarioUpstream], tmp_path: Path
) -> None:
    gateway, upstream = scenario_gateway
    result = _run_claude(gateway, tmp_path, "RUN:echo vandamme-tool-$((6*7))")
    assert result["is_error"] is False
    assert "vandamme-tool-42" in str(result["result"])  # Bash really ran and its output came back
    tool_messages = [
        m for request in upstream.requests for m in request["messages"] if m.get("role") == "tool"
    ]
    assert any("vandamme-tool-42" in str(m["content"]) for m in tool_messages)
    _assert_streamed_with_the_gateways_key(upstream)
