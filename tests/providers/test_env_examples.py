"""The ``.env`` forms of the examples (``examples/*.env``, the names vandamme-proxy ships),
each read as the gateway reads ``.env`` (django-environ) and loaded as it starts: the
expected providers, default and aliases, every line understood, no load error."""

import logging
from pathlib import Path

import environ
import pytest

from providers.models import LoadStatus, ProviderLoadResult
from routing.snapshot import build_routing_table
from tests.providers.test_provider_formats import EXAMPLES, load

pytestmark = pytest.mark.django_db


def read_env_file(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> dict[str, str]:
    """The variables ``settings.py``'s ``env.read_env`` would set from this file."""
    variables: dict[str, str] = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", variables)
    with caplog.at_level(logging.WARNING, logger="environ"):
        environ.Env.read_env(path)
    assert [r.getMessage() for r in caplog.records if "Invalid line" in r.getMessage()] == []
    return variables


def loaded(name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    variables = read_env_file(EXAMPLES / name, monkeypatch, caplog)
    config = load(variables)
    assert config.errors == []
    failed = ProviderLoadResult.objects.exclude(status__in=[LoadStatus.SUCCESS, LoadStatus.INACTIVE])
    assert [(r.provider_name, r.status, r.message) for r in failed] == []
    return variables


def test_every_toml_example_has_its_env_form() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.env")) == [
        "anthropic-direct.env",
        "aws-bedrock.env",
        "google-vertex.env",
        "multi-provider.env",
    ]


def test_multi_provider_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    loaded("multi-provider.env", monkeypatch, caplog)
    table = build_routing_table()
    assert set(table.providers) == {"openai", "gemini", "deepseek", "openrouter", "ollama"}
    assert table.default_provider == "openai"
    assert {name: alias.target for name, alias in table.global_aliases.items()}.items() >= {
        "fast": "openai:gpt-4o-mini",
        "smart": "gemini:gemini-2.5-pro",
        "think": "deepseek:deepseek-reasoner",
    }.items()
    assert table.providers["deepseek"].models == ("deepseek-chat", "deepseek-reasoner")
    headers = {name.lower(): value for name, value in table.providers["openrouter"].custom_headers}
    assert headers["x-title"] == "Example gateway"
    assert headers["http-referer"] == "https://gateway.example.com"
    assert table.providers["ollama"].keys == ()


def test_anthropic_direct_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    loaded("anthropic-direct.env", monkeypatch, caplog)
    table = build_routing_table()
    assert set(table.providers) == {"anthropic"}
    assert table.default_provider == "anthropic"
    anthropic = table.providers["anthropic"]
    assert len(anthropic.keys) == 2  # the quoted, space-separated pool
    assert (anthropic.timeout, anthropic.max_retries) == (600, 3)


def test_aws_bedrock_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    loaded("aws-bedrock.env", monkeypatch, caplog)
    table = build_routing_table()
    bedrock = table.providers["bedrock"]
    assert (bedrock.region, bedrock.keys, bedrock.requires_key) == ("us-east-1", (), False)
    assert bedrock.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"
    assert table.default_provider == "bedrock"
    assert table.global_aliases["sonnet"].target == "bedrock:us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert "us.anthropic.claude-haiku-4-5-20251001-v1:0" in bedrock.models


def test_google_vertex_env(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    loaded("google-vertex.env", monkeypatch, caplog)
    table = build_routing_table()
    vertex = table.providers["vertex"]
    assert (vertex.project, vertex.region, vertex.keys) == ("my-gcp-project", "us-east5", ())
    assert table.default_provider == "vertex"
    assert table.global_aliases["haiku"].target == "vertex:claude-haiku-4-5@20251001"
