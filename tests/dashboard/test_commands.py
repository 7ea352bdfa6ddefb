"""Terminal views: ``manage.py status`` and the ``manage.py claude`` wrapper."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from aliases.models import Alias
from providers.models import LoadStatus, ProviderLoadResult
from routing import gateway_address
from routing.management.commands import claude
from teams.models import UsageRecord
from tests.gateway.conftest import make_provider
from tests.integration.gateway import REPO_ROOT

FAKE_CLAUDE = """#!/usr/bin/env python3
import json, os, sys
print(json.dumps({"argv": sys.argv[1:], "base_url": os.environ.get("ANTHROPIC_BASE_URL"),
                  "api_key": os.environ.get("ANTHROPIC_API_KEY"),
                  "auth_token": os.environ.get("ANTHROPIC_AUTH_TOKEN"),
                  "max_output_tokens": os.environ.get("CLAUDE_CODE_MAX_OUTPUT_TOKENS")}))
"""


@pytest.mark.django_db
def test_status_shows_providers_keys_aliases_and_usage() -> None:
    provider = make_provider("openai", base_url="http://openai.test/v1", keys=("sk-status-key-000000000001",))
    make_provider("mine", base_url="http://mine.test/v1", passthrough=True)
    ProviderLoadResult.objects.create(provider_name="openai", status=LoadStatus.SUCCESS)
    ProviderLoadResult.objects.create(
        provider_name="gemini", status=LoadStatus.INACTIVE, message="no API key configured"
    )
    Alias.objects.create(name="fast", target="openai:gpt-4o-mini")
    Alias.objects.create(name="haiku", target="gpt-4o-mini", provider=provider)
    now = timezone.now()
    UsageRecord.objects.bulk_create(
        [
            UsageRecord(
                created_at=now - timedelta(minutes=minutes),
                provider="openai",
                team_name="alpha",
                model_requested="fast",
                model_served="gpt-4o-mini",
                status=status,
                latency_ms=200,
                input_tokens=11,
                output_tokens=4,
            )
            for minutes, status in ((1, 200), (2, 200), (3, 429))
        ]
    )
    out = StringIO()
    call_command("status", stdout=out)
    text = out.getvalue()
    assert "openai    yes      1/0/0/0" in text
    assert "mine      yes      passthrough" in text
    assert "gemini    -        -                                      inactive: no API key configured" in text
    assert "fast   openai:gpt-4o-mini  (global)" in text
    assert "haiku  gpt-4o-mini         openai" in text
    provider_usage = text.split("per provider")[1]
    assert "openai    3         1       33.3" in provider_usage
    assert "alpha  3         1       33.3" in text.split("per team")[1]
    assert "openai:gpt-4o-mini  429" in text
    assert "sk-status-key" not in text


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    binary = tmp_path / "bin" / "claude"
    binary.parent.mkdir()
    binary.write_text(FAKE_CLAUDE)
    binary.chmod(0o755)
    return binary.parent


def _run_claude(path: Path, args: list[str], **env: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "manage.py", "claude", *args],
        cwd=REPO_ROOT,
        env={"PATH": f"{path}:{os.environ['PATH']}", "HOME": str(path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


def test_claude_points_claude_code_at_the_gateway_with_its_key(fake_claude: Path) -> None:
    seen = _run_claude(
        fake_claude,
        ["-p", "hello there", "--model", "openai:gpt-4o", "--verbose"],
        HOST="0.0.0.0",  # noqa: S104
        PORT="9911",
        PROXY_API_KEY="vdm-the-gateway-key",
        ANTHROPIC_API_KEY="sk-ant-a-real-anthropic-key",
    )
    assert seen == {
        "argv": ["-p", "hello there", "--model", "openai:gpt-4o", "--verbose"],
        "base_url": "http://127.0.0.1:9911",
        # A bearer token, not an API key: Claude Code asks no "use this API key?" question.
        "api_key": None,
        "auth_token": "vdm-the-gateway-key",
        "max_output_tokens": str(claude.DEFAULT_MAX_OUTPUT_TOKENS),
    }


def test_claude_on_an_open_gateway_keeps_the_users_key_or_sends_a_placeholder(fake_claude: Path) -> None:
    assert _run_claude(fake_claude, ["--help"], ANTHROPIC_API_KEY="own")["auth_token"] == "own"
    assert _run_claude(fake_claude, ["--help"], ANTHROPIC_AUTH_TOKEN="token")["auth_token"] == "token"
    seen = _run_claude(fake_claude, [], HOST="10.1.2.3", PORT="8082")
    assert seen["auth_token"] == claude.OPEN_GATEWAY_KEY
    assert seen["base_url"] == "http://10.1.2.3:8082"


def test_claude_keeps_the_users_output_limit(fake_claude: Path) -> None:
    seen = _run_claude(fake_claude, [], CLAUDE_CODE_MAX_OUTPUT_TOKENS="4096")
    assert seen["max_output_tokens"] == "4096"


@pytest.mark.parametrize("flag", [["--url", "http://gw.example:9000/"], ["--url=http://gw.example:9000"]])
def test_claude_url_flag_picks_the_gateway_and_is_not_passed_on(fake_claude: Path, flag: list[str]) -> None:
    seen = _run_claude(fake_claude, ["-p", "hi", *flag, "--verbose"], PORT="9911")
    assert seen["base_url"] == "http://gw.example:9000"
    assert seen["argv"] == ["-p", "hi", "--verbose"]


def test_claude_finds_the_running_gateway_of_this_checkout(
    fake_claude: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` records where it listens; a record whose process is gone is ignored."""
    monkeypatch.setenv("HOME", str(fake_claude))  # the home _run_claude gives the command
    record = gateway_address._record_path()
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"url": "http://127.0.0.1:9555", "pid": os.getpid()}))
    assert _run_claude(fake_claude, [], PORT="8082")["base_url"] == "http://127.0.0.1:9555"
    record.write_text(json.dumps({"url": "http://127.0.0.1:9555", "pid": _exited_pid()}))
    assert _run_claude(fake_claude, [], PORT="8082")["base_url"] == "http://127.0.0.1:8082"


def _exited_pid() -> int:
    """A process id that no longer runs."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_claude_rejects_a_url_flag_without_a_url(fake_claude: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "manage.py", "claude", "--url"],
        cwd=REPO_ROOT,
        env={"PATH": f"{fake_claude}:{os.environ['PATH']}", "HOME": str(fake_claude)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "--url needs the gateway's URL" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_claude_says_how_to_install_it_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(claude, "BUNDLED_CLAUDE", tmp_path / "absent")
    with pytest.raises(SystemExit) as exited:
        claude.Command().run_from_argv(["manage.py", "claude", "-p", "hi"])
    assert exited.value.code == 1
    stderr = capsys.readouterr().err
    assert "npm install -g @anthropic-ai/claude-code" in stderr
    assert "Traceback" not in stderr


def test_claude_runs_the_real_claude_code_when_installed() -> None:
    if not claude.BUNDLED_CLAUDE.exists():
        pytest.skip("Claude Code is not installed (scripts/_install_claude_code.sh)")
    completed = subprocess.run(
        [sys.executable, "manage.py", "claude", "--version"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(REPO_ROOT / ".cache")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Claude Code" in completed.stdout
