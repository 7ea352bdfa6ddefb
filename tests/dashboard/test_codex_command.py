"""``manage.py codex``: the temporary CODEX_HOME it writes, the key it passes, the arguments
and exit status it hands through, and the clean-up after."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from dashboard.management.commands import codex
from tests.integration.gateway import REPO_ROOT

# Reports what Codex would see: its arguments, CODEX_HOME and the config there, the key
# variable; exits with the status in FAKE_CODEX_EXIT.
FAKE_CODEX = """#!/usr/bin/env python3
import json, os, sys
home = os.environ.get("CODEX_HOME", "")
config = open(os.path.join(home, "config.toml")).read() if home else None
print(json.dumps({"argv": sys.argv[1:], "codex_home": home, "config": config,
                  "key": os.environ.get("VANDAMME_CODEX_KEY")}))
sys.exit(int(os.environ.get("FAKE_CODEX_EXIT", "0")))
"""
GATEWAY_KEY = "vdm-the-gateway-key-0123456789"


@pytest.fixture
def fake_codex(tmp_path: Path) -> Path:
    binary = tmp_path / "bin" / "codex"
    binary.parent.mkdir()
    binary.write_text(FAKE_CODEX)
    binary.chmod(0o755)
    return binary.parent


def _run_codex(path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "codex", *args],
        cwd=REPO_ROOT,
        env={"PATH": f"{path}:{os.environ['PATH']}", "HOME": str(path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _seen(completed: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_codex_config_is_one_responses_provider_at_the_gateway_without_the_key() -> None:
    config = tomllib.loads(codex.codex_config("http://127.0.0.1:9911/v1", "openai:gpt-5"))
    assert config["model"] == "openai:gpt-5"
    assert config["model_provider"] == "vandamme"
    assert config["model_providers"]["vandamme"] == {
        "name": "vandamme",
        "base_url": "http://127.0.0.1:9911/v1",
        "env_key": "VANDAMME_CODEX_KEY",
        "wire_api": "responses",
        "requires_openai_auth": False,
    }
    # No update check, analytics, feedback or OpenTelemetry export: nothing leaves for OpenAI.
    assert config["check_for_update_on_startup"] is False
    assert config["analytics"] == {"enabled": False}
    assert config["feedback"] == {"enabled": False}
    assert config["otel"] == {"exporter": "none"}


def test_codex_config_quotes_any_model_name() -> None:
    awkward = 'team "x"\\model\n'
    assert tomllib.loads(codex.codex_config("http://h:1/v1", awkward))["model"] == awkward


@pytest.mark.parametrize(
    ("args", "model"),
    [
        (["exec", "hi"], "codex"),
        (["exec", "--model", "openai:gpt-5", "hi"], "openai:gpt-5"),
        (["exec", "-m", "fast", "hi"], "fast"),
        (["exec", "--model=deepseek:chat", "hi"], "deepseek:chat"),
        (["exec", "--model"], "codex"),  # a dangling flag: Codex reports it, not us
    ],
)
def test_requested_model(args: list[str], model: str) -> None:
    assert codex.requested_model(args) == model


def test_codex_points_at_the_gateway_and_passes_the_key_by_environment(fake_codex: Path) -> None:
    args = ["exec", "--skip-git-repo-check", "--model", "openai:gpt-5", "say $HOME 'quoted'"]
    completed = _run_codex(fake_codex, args, HOST="0.0.0.0", PORT="9911", PROXY_API_KEY=GATEWAY_KEY)  # noqa: S104
    seen = _seen(completed)
    assert seen["argv"] == args
    assert seen["key"] == GATEWAY_KEY
    config = tomllib.loads(str(seen["config"]))
    assert config["model_providers"]["vandamme"]["base_url"] == "http://127.0.0.1:9911/v1"
    assert config["model"] == "openai:gpt-5"
    assert GATEWAY_KEY not in str(seen["config"])  # the key is in the environment only
    assert GATEWAY_KEY not in completed.stderr
    codex_home = Path(str(seen["codex_home"]))
    assert codex_home.parent == fake_codex / ".cache" / "vandamme"  # not under /tmp: see codex_home_parent
    assert not codex_home.exists()  # removed after the run


def test_codex_on_an_open_gateway_keeps_the_users_key_or_sends_a_placeholder(fake_codex: Path) -> None:
    assert _seen(_run_codex(fake_codex, ["--help"], VANDAMME_CODEX_KEY="own"))["key"] == "own"
    seen = _seen(_run_codex(fake_codex, [], HOST="10.1.2.3", PORT="8082"))
    assert seen["key"] == codex.OPEN_GATEWAY_KEY
    assert (
        tomllib.loads(str(seen["config"]))["model_providers"]["vandamme"]["base_url"]
        == "http://10.1.2.3:8082/v1"
    )


def test_codex_exit_status_is_the_commands_and_the_home_is_removed_anyway(fake_codex: Path) -> None:
    completed = _run_codex(fake_codex, ["exec", "fail"], FAKE_CODEX_EXIT="3")
    assert completed.returncode == 3
    assert not Path(json.loads(completed.stdout)["codex_home"]).exists()


def test_codex_says_how_to_install_it_when_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(codex, "BUNDLED_CODEX", tmp_path / "absent")
    with pytest.raises(CommandError, match="npm install -g @openai/codex"):
        codex.codex_binary()


def test_codex_runs_the_pinned_codex_cli_when_installed(tmp_path: Path) -> None:
    if not codex.BUNDLED_CODEX.exists():
        if os.environ.get("CI"):
            pytest.fail("Codex CLI is not installed: scripts/test installs it with npm")
        pytest.skip("Codex CLI is not installed (scripts/_install_codex.sh)")
    completed = subprocess.run(
        [sys.executable, "manage.py", "codex", "--version"],
        cwd=REPO_ROOT,
        env={"PATH": f"{codex.BUNDLED_CODEX.parent}:{os.environ['PATH']}", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.startswith("codex-cli ")
