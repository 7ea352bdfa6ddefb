"""``manage.py claude`` against a running gateway, as a newcomer meets it: the gateway
started on a port nobody exported again, and Claude Code's interactive screen in a
terminal, where an ``ANTHROPIC_API_KEY`` makes it ask "Do you want to use this API key?"
with "No" preselected."""

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream
from tests.integration.test_claude_code import CLAUDE, _require_claude

pytestmark = [pytest.mark.integration, pytest.mark.claude_code]

PROXY_KEY = "vdm-newcomer-proxy-key-0123456789"
API_KEY_QUESTION = "Do you want to use this API key?"
READY_SCREEN = "Claude Code v"  # the banner of the prompt screen
ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Z0-9]|[=>78])")


def _terminal_text(
    command: list[str], env: Mapping[str, str], cwd: Path, *, until: str, seconds: float
) -> str:
    """What ``command`` shows in a terminal until ``until`` appears (or ``seconds`` pass),
    without escape sequences and without spaces (Claude Code moves the cursor between words)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on the terminal's other side
        os.chdir(cwd)
        os.execve(command[0], command, dict(env))  # noqa: S606
    screen = b""
    deadline = time.monotonic() + seconds
    wanted = until.replace(" ", "")
    try:
        while time.monotonic() < deadline and wanted not in _flat(screen):
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    break
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return _flat(screen)


def _flat(screen: bytes) -> str:
    return re.sub(r"\s+", "", ANSI_ESCAPE.sub("", screen.decode(errors="replace")))


def _onboarded_home(home: Path) -> None:
    """A user who has run Claude Code before (theme chosen, this folder trusted): what
    is left is the key question, if any."""
    state = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "projects": {str(home): {"hasTrustDialogAccepted": True}},
    }
    (home / ".claude.json").write_text(json.dumps(state))


def _client_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{CLAUDE.parent}:{os.environ['PATH']}",
        "HOME": str(home),
        "TERM": "xterm-256color",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        **extra,
    }


def test_the_wrapper_finds_the_running_gateway_and_claude_code_asks_no_key_question(tmp_path: Path) -> None:
    _require_claude()
    home = tmp_path
    _onboarded_home(home)
    gateway_env = {"PROXY_API_KEY": PROXY_KEY, "SCENARIO_API_KEY": "sk-scenario-key"}
    with (
        ScenarioUpstream() as upstream,
        GatewayProcess(tmp_path, {**gateway_env, "SCENARIO_BASE_URL": upstream.base_url}) as gateway,
    ):
        # The gateway listens on a free port, not PORT's default, and nothing is exported.
        answered = subprocess.run(
            [sys.executable, "manage.py", "claude", "-p", "Say hello.", "--model", "scenario:gpt-4o"],
            cwd=REPO_ROOT,
            env=_client_env(home, PROXY_API_KEY=PROXY_KEY),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert answered.returncode == 0, f"{answered.stdout}{answered.stderr}{gateway.log()}"
        assert GREETING in answered.stdout
        assert _recorded_url(home) == gateway.base_url
        # Claude Code asked for what the wrapper set, not its 32 000 for unknown models.
        assert {request["max_tokens"] for request in upstream.requests} == {16384}
        # The control: Claude Code itself, given the key as ANTHROPIC_API_KEY, asks.
        asked = _terminal_text(
            [str(CLAUDE)],
            _client_env(home, ANTHROPIC_BASE_URL=gateway.base_url, ANTHROPIC_API_KEY=PROXY_KEY),
            home,
            until=API_KEY_QUESTION,
            seconds=30,
        )
        assert API_KEY_QUESTION.replace(" ", "") in asked
        # The wrapper (ANTHROPIC_AUTH_TOKEN): straight to the prompt screen.
        wrapped = _terminal_text(
            [sys.executable, str(REPO_ROOT / "manage.py"), "claude"],
            _client_env(home, PROXY_API_KEY=PROXY_KEY),
            home,
            until=READY_SCREEN,
            seconds=30,
        )
        assert READY_SCREEN.replace(" ", "") in wrapped
        assert API_KEY_QUESTION.replace(" ", "") not in wrapped


def _recorded_url(home: Path) -> str:
    """The URL ``serve`` recorded under the gateway's home (the one this test gave it)."""
    records = list((home / ".cache" / "vandamme").glob("gateway-*.json"))
    assert len(records) == 1, records
    return str(json.loads(records[0].read_text())["url"])
