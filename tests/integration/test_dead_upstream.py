"""One ``claude -p`` prompt against an upstream that answers 500 to everything.

Claude Code retries a 5xx itself (up to 10 times, with its own backoff, and the same
``x-stainless-retry-count: 0`` on every try); the gateway tried 3 times for each of
those, so one prompt cost 33 upstream calls and minutes of silence. Measured here with the real CLI: the upstream calls, the time to
the error the user sees, and what that error says.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.gateway import GatewayProcess
from tests.integration.scenario_upstream import ScenarioUpstream
from tests.integration.test_claude_code import CLAUDE, _require_claude

pytestmark = [pytest.mark.integration, pytest.mark.claude_code]

UPSTREAM_KEY = "sk-dead-upstream-key"
# Measured with Claude Code 2.1.328: before, 33 upstream calls (11 tries of Claude Code's
# times 3 of the gateway's) and 189 s to the error; after, 3 calls and about 1 s. The
# gateway tries 3 times (max_retries=2, within the retry budget), then answers
# ``x-should-retry: false``, which Claude Code obeys.
MAX_UPSTREAM_CALLS = 3
MAX_SECONDS_TO_THE_ERROR = 30.0  # about 1 s measured; generous for a loaded CI machine


def _run_claude_against(
    gateway: GatewayProcess, home: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway.base_url,
        "ANTHROPIC_AUTH_TOKEN": "anything",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    command = [str(CLAUDE), "-p", "Say hello.", "--model", "dead:gpt-4o", "--max-turns", "1"]
    started = time.monotonic()
    completed = subprocess.run(
        command, env=env, cwd=home, capture_output=True, text=True, timeout=400, check=False
    )
    return completed, time.monotonic() - started


def test_dead_upstream_costs_few_calls_and_names_the_provider(tmp_path: Path) -> None:
    _require_claude()
    with (
        ScenarioUpstream() as upstream,
        GatewayProcess(
            tmp_path, {"DEAD_API_KEY": UPSTREAM_KEY, "DEAD_BASE_URL": upstream.base_url}
        ) as gateway,
    ):
        upstream.always_fail[UPSTREAM_KEY] = 500
        completed, seconds = _run_claude_against(gateway, tmp_path)
    calls = len(upstream.requests)
    visible = (completed.stdout + completed.stderr).strip()
    sys.stderr.write(f"\nupstream calls: {calls}; time to the visible error: {seconds:.1f} s\n{visible}\n")
    assert completed.returncode != 0
    assert calls <= MAX_UPSTREAM_CALLS, f"{calls} upstream calls for one prompt"
    assert seconds < MAX_SECONDS_TO_THE_ERROR
    assert "after 3 tries" in visible
    assert "upstream provider 'dead' answered 500" in visible  # the provider and the upstream's status
