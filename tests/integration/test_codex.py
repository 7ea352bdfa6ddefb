"""The real Codex CLI (npm ``@openai/codex``, pinned in scripts/_install_codex.sh) doing a shell
round trip: straight to the mock's Responses route, and through the gateway's
``POST /v1/responses`` (``manage.py codex``) to a chat-format and an Anthropic-format mock.

The mock plays the model (``tests/mock_upstream/shell_round_trip.py``): it asks Codex to run
``exec_command`` with a command only a shell can answer, and its final answer quotes the tool
output it finds in the next request, so ``vdm-42-shell`` in Codex's output proves the command
ran and its output travelled back through every translation.
"""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.management.commands import codex as codex_command
from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.mock_upstream import MockUpstream
from tests.mock_upstream import shell_round_trip as shell

pytestmark = [pytest.mark.integration, pytest.mark.codex]

CODEX = REPO_ROOT / ".cache" / "codex" / "node_modules" / ".bin" / "codex"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "codex_requests"
PROMPT = "RUN:echo vdm-$((6*7))-$(printf '%s' shell)"
SHELL_OUTPUT = "vdm-42-shell"  # what only a real shell makes of the command in PROMPT
CLIENT_KEY = "vdm-codex-client-key-never-forwarded"  # the gateway's PROXY_API_KEY
UPSTREAM_KEY = "sk-mock-provider-key-for-codex"
# The upstream paths that are model calls (not token counts or model lists).
GENERATION_PATHS = ("/chat/completions", "/messages", "/responses")
# Codex without a sandbox (the container has none for it) and without a git repository.
CODEX_EXEC = ["exec", "--skip-git-repo-check", "--sandbox", "danger-full-access"]


def _require_codex() -> None:
    if not CODEX.exists() or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Codex CLI is not installed: scripts/test installs it with npm")
        pytest.skip("Codex CLI not installed (run scripts/test once)")


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,  # else `codex exec` waits to read more prompt from stdin
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _upstream_calls(mock: MockUpstream) -> list[dict[str, Any]]:
    return [request for request in mock.requests() if request["method"] == "POST"]


def _save_fixtures(calls: list[dict[str, Any]]) -> None:
    """Refresh tests/fixtures/codex_requests (VANDAMME_CAPTURE_CODEX_REQUESTS=1), secrets out."""
    installation = json.loads(calls[0]["headers"]["x-codex-turn-metadata"])["installation_id"]
    for number, call in enumerate(calls, 1):
        headers = {
            **call["headers"],
            "authorization": "Bearer <CODEX_HOME env_key value: the client's gateway key>",
            "host": "127.0.0.1:<port>",
        }
        record = {"method": call["method"], "path": call["path"], "headers": headers, "json": call["json"]}
        text = json.dumps(record, indent=1, ensure_ascii=False)
        text = text.replace(installation, "00000000-0000-0000-0000-000000000000")
        (FIXTURES / f"turn{number}.json").write_text(text + "\n", encoding="utf-8")


def test_codex_shell_round_trip_straight_to_a_responses_mock(tmp_path: Path) -> None:
    """No gateway: Codex against the mock's own /v1/responses, with the config manage.py
    codex writes. Pins down what Codex sends (the door's input) and that the mock's Responses
    grammar satisfies the real client."""
    _require_codex()
    codex_home, workdir = tmp_path / "codex-home", tmp_path / "work"
    codex_home.mkdir()
    workdir.mkdir()
    with MockUpstream() as mock:
        config = codex_command.codex_config(mock.base_url, "mock-model")
        (codex_home / "config.toml").write_text(config, encoding="utf-8")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "CODEX_HOME": str(codex_home),
            codex_command.KEY_VARIABLE: CLIENT_KEY,
        }
        completed = _run([str(CODEX), *CODEX_EXEC, PROMPT], env, workdir)
        calls = _upstream_calls(mock)
    assert completed.returncode == 0, f"codex failed:\n{completed.stdout}\n{completed.stderr}"
    assert SHELL_OUTPUT in completed.stdout
    assert [call["path"] for call in calls] == ["/v1/responses"] * 2
    assert all(call["json"]["stream"] is True for call in calls)
    assert all(call["headers"]["authorization"] == f"Bearer {CLIENT_KEY}" for call in calls)
    first, second = (call["json"] for call in calls)
    # Turn 2 hands back, after the user's turn, the reasoning item (encrypted_content and all,
    # as store: false demands), the function call and its output.
    replayed = second["input"][len(first["input"]) :]
    assert [item["type"] for item in replayed] == ["reasoning", "function_call", "function_call_output"]
    assert replayed[0]["encrypted_content"] == shell.ENCRYPTED_REASONING
    assert replayed[1]["call_id"] == replayed[2]["call_id"] == shell.CALL_ID
    assert SHELL_OUTPUT in replayed[2]["output"]
    if os.environ.get("VANDAMME_CAPTURE_CODEX_REQUESTS"):
        _save_fixtures(calls)
    # The fixtures the door is built against still describe this Codex.
    saved = json.loads((FIXTURES / "turn1.json").read_text(encoding="utf-8"))["json"]
    assert set(first) == set(saved)
    assert [tool.get("name", tool["type"]) for tool in first["tools"]] == [
        tool.get("name", tool["type"]) for tool in saved["tools"]
    ]


@pytest.fixture(params=["openai", "anthropic"])
def gateway_to_mock(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[GatewayProcess, MockUpstream]]:
    """A gateway with a gateway key, whose only provider is the mock in one format."""
    _require_codex()
    with MockUpstream() as mock:
        anthropic = request.param == "anthropic"
        env = {
            "PROXY_API_KEY": CLIENT_KEY,
            "MOCK_API_KEY": UPSTREAM_KEY,
            # An OpenAI-format provider's base URL ends in /v1; an Anthropic one is the host.
            "MOCK_BASE_URL": mock.origin if anthropic else mock.base_url,
            "MOCK_API_FORMAT": request.param,
            "MOCK_MAX_RETRIES": "0",
            "VDM_DEFAULT_PROVIDER": "mock",
        }
        with GatewayProcess(tmp_path, env) as gateway:
            yield gateway, mock


def test_codex_shell_round_trip_through_the_gateway(
    gateway_to_mock: tuple[GatewayProcess, MockUpstream], tmp_path: Path
) -> None:
    gateway, mock = gateway_to_mock
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        **gateway.env,  # the gateway's settings: manage.py codex reads HOST, PORT, PROXY_API_KEY
        "HOST": "127.0.0.1",
        "PORT": str(gateway.port),
        "PATH": f"{CODEX.parent}:{os.environ['PATH']}",  # the pinned Codex before any other
    }
    command = [sys.executable, str(REPO_ROOT / "manage.py"), "codex", *CODEX_EXEC]
    command += ["-C", str(workdir), "--model", "mock:mock-model", PROMPT]
    completed = _run(command, env, REPO_ROOT)
    assert completed.returncode == 0, (
        f"codex failed:\n{completed.stdout}\n{completed.stderr}\n{gateway.log()}"
    )
    assert SHELL_OUTPUT in completed.stdout
    calls = _upstream_calls(mock)
    turns = [call for call in calls if call["path"].endswith(GENERATION_PATHS)]
    assert len(turns) >= 2, calls
    assert all(call["json"].get("stream") is True for call in turns)  # every model call streamed
    assert all(call["json"]["model"] == "mock-model" for call in turns)
    for call in calls:  # the provider's key went upstream, the client's never did
        assert UPSTREAM_KEY in (
            call["headers"].get("authorization", "") + call["headers"].get("x-api-key", "")
        )
        assert CLIENT_KEY not in json.dumps(call["headers"])
        assert CLIENT_KEY not in call["body"]
    # The tool output reached the upstream in the provider's own dialect.
    assert SHELL_OUTPUT in turns[-1]["body"]
