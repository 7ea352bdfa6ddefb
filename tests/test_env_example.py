"""``.env.example`` and the README's variable table list every variable settings.py reads,
and the example's values are safe: they start a development gateway, and production
still refuses to start until real secrets are set."""

import re

import pytest

from tests.integration.gateway import REPO_ROOT
from tests.test_settings_and_commands import _import_settings

SETTINGS_SOURCE = (REPO_ROOT / "vandamme" / "settings.py").read_text()
EXAMPLE = (REPO_ROOT / ".env.example").read_text()
README = (REPO_ROOT / "README.md").read_text()
SETTINGS_VARIABLES = sorted(set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", SETTINGS_SOURCE)))


def _assignments() -> dict[str, str]:
    lines = [line for line in EXAMPLE.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)]
    return dict(line.split("=", 1) for line in lines)


def test_settings_read_what_this_test_expects() -> None:
    assert len(SETTINGS_VARIABLES) > 20  # the pattern still finds them
    assert "VANDAMME_USER_CONFIG_FILE" in SETTINGS_VARIABLES  # also a call across lines


@pytest.mark.parametrize("variable", SETTINGS_VARIABLES)
def test_every_setting_is_in_the_example_and_the_readme(variable: str) -> None:
    assert re.search(rf"^(# )?{variable}=", EXAMPLE, re.MULTILINE), f"{variable} missing from .env.example"
    assert f"`{variable}`" in README, f"{variable} missing from the README"


def test_the_example_values_start_a_development_gateway() -> None:
    result = _import_settings(**_assignments())
    assert result.returncode == 0, result.stderr


def test_the_example_values_do_not_pass_for_production() -> None:
    result = _import_settings(**{**_assignments(), "VANDAMME_ENVIRONMENT": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
