"""What ``serve`` prints before it listens (issue 16.6)."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from providers.config_sync import PACKAGED_DEFAULTS, ApplyReport
from providers.loaders import build_config
from routing.start_report import Listening, start_report
from teams.models import Team
from vandamme.configuration import config_apply
from vandamme.settings import DEVELOPMENT_FERNET_KEY

pytestmark = pytest.mark.django_db

SECRET = "sk-plaintext-secret-4242424242"
LOCAL = Listening("127.0.0.1", 8082)
TEST_FERNET_KEY = "Z0ZnP2v2Q9rJkq3J0Xk9b1kR6mQ1b6GxQ2w9Tt1yM0Y="


def _load(env: dict[str, str]) -> ApplyReport:
    layers = [(PACKAGED_DEFAULTS.read_text(), str(PACKAGED_DEFAULTS))]
    return config_apply(
        config=build_config(environ=env, toml_layers=layers, packaged_origin=str(PACKAGED_DEFAULTS))
    )


def _text(env: dict[str, str], listening: Listening = LOCAL) -> str:
    report = start_report(_load(env), listening)
    return "\n".join(report.lines + report.warnings)


def test_a_newcomers_first_screen(settings: object) -> None:
    settings.VANDAMME_FERNET_KEYS = [DEVELOPMENT_FERNET_KEY]  # type: ignore[attr-defined]
    text = _text({"OPENAI_API_KEY": SECRET, "TAVILY_API_KEY": "t"}, Listening("0.0.0.0", 9000))  # noqa: S104
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["provider", "status"]
    assert sum(1 for line in lines if line.startswith("openai ")) == 1
    assert not any(line.startswith(("poe ", "ollama ")) for line in lines)  # inactive: counted only
    assert "15 inactive providers not shown: `manage.py config_summary --all`" in text
    assert "  OPENAI_API_KEY → openai" in lines
    assert "Ignored (no known provider, no {NAME}_BASE_URL): TAVILY_API_KEY" in lines
    assert "Default provider: openai" in lines
    assert any(line.startswith("Gateway: open (no PROXY_API_KEY and no team yet") for line in lines)
    assert "Admin: http://127.0.0.1:9000/admin/" in lines
    assert "  no superuser yet: .venv/bin/python manage.py createsuperuser" in lines
    assert (
        "  ANTHROPIC_BASE_URL=http://127.0.0.1:9000 ANTHROPIC_AUTH_TOKEN=anything "
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS=16384 claude --model openai:gpt-4o"
    ) in lines
    assert "  PORT=9000 HOST=127.0.0.1 .venv/bin/python manage.py codex -m openai:gpt-4o" in lines
    assert "PUBLIC development Fernet key" in text
    assert SECRET not in text


def test_a_closed_gateway_with_a_superuser_and_its_own_fernet_key(settings: object) -> None:
    settings.VANDAMME_FERNET_KEYS = [TEST_FERNET_KEY, DEVELOPMENT_FERNET_KEY]  # type: ignore[attr-defined]
    get_user_model().objects.create_superuser("admin", "a@example.com", "pw")
    Team.objects.create(name="research")
    text = _text({"OPENAI_API_KEY": SECRET})
    assert "Gateway: closed (a team exists and VDM_GATEWAY_MODE=auto" in text
    assert "no superuser yet" not in text
    assert "ANTHROPIC_AUTH_TOKEN=vdm-…(a team's gateway key)" in text
    assert "  VANDAMME_CODEX_KEY=vdm-…(a team's gateway key) .venv/bin/python manage.py codex" in text
    assert "Fernet" not in text


def test_inactive_providers_are_listed_on_request() -> None:
    _load({"OPENAI_API_KEY": SECRET})
    short, full = StringIO(), StringIO()
    call_command("config_summary", stdout=short)
    call_command("config_summary", "--all", stdout=full)
    assert "ollama" not in short.getvalue()
    assert "inactive providers not shown" in short.getvalue()
    assert "ollama" in full.getvalue()
