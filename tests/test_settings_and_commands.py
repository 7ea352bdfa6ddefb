"""Production refuses development secrets; the operator commands work."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aliases.models import Alias
from providers.models import Provider
from providers.services import api_key_create
from tests.integration.gateway import REPO_ROOT


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "vandamme.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"VANDAMME_ENVIRONMENT": "production"}, "SECRET_KEY"),
        ({"VANDAMME_ENVIRONMENT": "production", "SECRET_KEY": "s" * 50}, "VANDAMME_FERNET_KEYS"),
    ],
)
def test_production_refuses_to_start_without_secrets(env: dict[str, str], missing: str) -> None:
    result = _import_settings(**env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_starts_with_secrets() -> None:
    from cryptography.fernet import Fernet

    result = _import_settings(
        VANDAMME_ENVIRONMENT="production",
        SECRET_KEY="s" * 50,
        VANDAMME_FERNET_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_resolve_model_command_prints_each_step() -> None:
    provider = Provider.objects.create(name="acme", base_url="https://acme.example/v1", is_default=True)
    api_key_create(provider=provider, secret="sk-resolve-test-00000000")
    Alias.objects.create(name="fast", target="acme:small")
    out = StringIO()
    call_command("resolve_model", "fast", "llama3:8b", stdout=out)
    text = out.getvalue()
    assert "global alias → 'acme:small'" in text
    assert "provider acme, model 'small'" in text
    assert "provider acme, model 'llama3:8b'" in text
    with pytest.raises(CommandError):
        call_command("resolve_model", "!", stdout=StringIO())
