"""The README's first hour, run as written (issue 16): start the gateway with
``./scripts/start``, run Claude Code ``-p`` through it with the README's command, run the
README's REST walkthrough with ``curl`` (superuser, API token, provider, key, team, gateway
key), see the first team close the gateway, then run Claude Code again the way the README
documents for that state (the team's gateway key). The provider upstreams are the repo's
scenario upstream on 127.0.0.1; the README's example URL and port are the only things
substituted."""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.scenario_upstream import GREETING, ScenarioUpstream

pytestmark = [pytest.mark.integration, pytest.mark.claude_code]

README = (REPO_ROOT / "README.md").read_text()
BUNDLED_CLAUDE = REPO_ROOT / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
UPSTREAM_KEY = "sk-newcomer-openai-key"
README_PORT = "8082"
README_LLM_URL = "https://llm.example.com/v1"
QUIET_CLAUDE = {  # nothing but the calls under test leaves the machine
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_ENABLE_TELEMETRY": "0",
}


def _claude_directory() -> str:
    if BUNDLED_CLAUDE.exists() and shutil.which("node"):
        return str(BUNDLED_CLAUDE.parent)
    found = shutil.which("claude")
    if found:
        return str(Path(found).parent)
    if os.environ.get("CI"):
        pytest.fail("Claude Code CLI is not installed: scripts/test installs it with npm")
    pytest.skip("Claude Code CLI not installed (run scripts/test once)")


def readme_block(containing: str) -> str:
    """The README's bash block that holds ``containing`` (exactly one must)."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
    found = [block for block in blocks if containing in block]
    assert len(found) == 1, f"{len(found)} README bash blocks contain {containing!r}"
    return str(found[0])


class StartedAsTheReadmeSays(GatewayProcess):
    """``./scripts/start --port N`` (README, Set up) instead of ``manage.py serve``."""

    def start(self, timeout: float = 120.0) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            ["./scripts/start", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready(timeout)


def _bash(script: str, env: dict[str, str], cwd: Path = REPO_ROOT, timeout: float = 60) -> str:
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, f"{script}\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def _run_claude(
    readme_command: str, gateway: GatewayProcess, home: Path, claude_dir: str
) -> dict[str, object]:
    """The README's command, on this gateway's port, with ``-p`` and JSON output."""
    command = readme_command.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{gateway.port}")
    env = {"PATH": f"{claude_dir}:{os.environ['PATH']}", "HOME": str(home), **QUIET_CLAUDE}
    script = f"{command} -p 'Say hello.' --output-format json --max-turns 2"
    output = _bash(script, env, cwd=home, timeout=180)
    return dict(json.loads(output))


def _claude_command(block: str) -> str:
    """The ``ANTHROPIC_BASE_URL=… claude --model …`` command of a README block (by hand, not
    the ``manage.py claude`` line beside it), continuation lines joined."""
    joined = block.replace("\\\n", " ")
    lines = [
        line.strip()
        for line in joined.splitlines()
        if line.startswith("ANTHROPIC_BASE_URL=") and " claude --model " in line
    ]
    assert len(lines) == 1, block
    return re.sub(r"\s+", " ", lines[0])


def _wait_for_status(gateway: GatewayProcess, key: str, status: int) -> httpx.Response:
    body = {"model": "openai:gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    deadline = time.monotonic() + 10
    while True:
        response = httpx.post(f"{gateway.base_url}/v1/messages", json=body, headers={"x-api-key": key})
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_the_readmes_first_hour(tmp_path: Path) -> None:
    claude_dir = _claude_directory()
    home = tmp_path / "home"
    home.mkdir()
    with ScenarioUpstream() as upstream:
        # An endpoint of one's own names its models (the packaged list is OpenAI's: README,
        # Configuration); then the start-up output gives the README's very command.
        readme_env = {
            "OPENAI_API_KEY": UPSTREAM_KEY,
            "OPENAI_BASE_URL": upstream.base_url,
            "OPENAI_MODELS": "gpt-4o",
        }
        with StartedAsTheReadmeSays(tmp_path, readme_env) as gateway:
            start_output = gateway.log()
            first_command = _claude_command(readme_block("claude --model openai:gpt-4o"))
            # The start-up output gives the README's Claude Code command for this gateway.
            assert first_command.replace(README_PORT, str(gateway.port)) in start_output, start_output
            assert "Gateway: open" in start_output
            assert "HTTP/2 support not enabled" not in start_output

            # 1. Claude Code, as Set up says.
            first = _run_claude(first_command, gateway, home, claude_dir)
            assert first["is_error"] is False, first
            assert GREETING in str(first["result"])
            assert {request["model"] for request in upstream.requests} == {"gpt-4o"}

            # 2. The REST walkthrough: a superuser (The admin), a token, then the curl lines.
            shell = {**gateway.env}
            _bash(readme_block("createsuperuser --noinput"), shell)
            token_output = _bash(readme_block("create_api_token admin --label ci").splitlines()[0], shell)
            token = re.search(r"vdmapi-[A-Za-z0-9_\-]+", token_output)
            assert token is not None, token_output
            walkthrough = readme_block('"$API/gateway-keys/"')
            walkthrough = walkthrough.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{gateway.port}")
            walkthrough = walkthrough.replace(README_LLM_URL, upstream.base_url)
            answers = _bash(walkthrough, {**shell, "VDM_TOKEN": token.group()})
            gateway_key = re.search(r'"key":\s*"(vdm-[A-Za-z0-9_\-]+)"', answers)
            assert gateway_key is not None, answers

            # 3. The first team closed the gateway: the Set up command's key is refused, and why.
            refused = _wait_for_status(gateway, "anything", 401)
            assert refused.status_code == 401, refused.text
            assert "the gateway is closed (a team exists" in refused.json()["error"]["message"]
            assert httpx.get(f"{gateway.base_url}/ready").json()["gateway"]["mode"] == "closed"
            assert "gateway mode changed: open → closed" in gateway.log()

            # 4. Claude Code again, as the walkthrough documents: the team's gateway key.
            upstream.requests.clear()
            second_command = _claude_command(readme_block("ANTHROPIC_AUTH_TOKEN=vdm-..."))
            second_command = second_command.replace("vdm-...", gateway_key.group(1))
            second = _run_claude(second_command, gateway, home, claude_dir)
            assert second["is_error"] is False, second
            assert GREETING in str(second["result"])
            assert {request["model"] for request in upstream.requests} == {"big"}  # myllm:big
            assert gateway_key.group(1) not in gateway.log()  # the key is never logged
