"""A provider's family and Responses capability: declared by env/TOML (and shown in the
admin and the API), guessed from name and host only when a row is created undeclared, and
the hosted-tools policy carried into the routing snapshot with the team's override."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from providers.families import ApiFormat, HostedTools, ProviderFamily, default_responses_api, guess_family
from providers.loaders import build_config
from providers.models import Provider
from providers.services import api_key_create
from routing.snapshot import build_routing_table
from teams.models import GatewayKey, Team
from vandamme.configuration import config_apply

SECRET = "sk-plaintext-secret-4242424242"


@pytest.mark.parametrize(
    ("name", "api_format", "base_url", "api_version", "family"),
    [
        ("gemini", "openai", "https://generativelanguage.googleapis.com/v1beta/openai", "", "gemini"),
        ("mygw", "openai", "https://api.deepseek.com/v1", "", "deepseek"),
        ("router", "openai", "https://openrouter.ai/api/v1", "", "openrouter"),
        ("corp", "openai", "https://res.openai.azure.com", "", "azure"),
        ("azure-eu", "openai", "http://127.0.0.1:9/openai/v1", "", "azure"),
        ("azure-old", "openai", "http://127.0.0.1:9", "2024-10-21", "azure"),
        ("local", "openai", "http://localhost:11434/v1", "", "ollama"),
        ("openai", "openai", "https://api.openai.com/v1", "", "openai"),
        ("groq", "openai", "https://api.groq.com/openai/v1", "", "compatible"),
        ("gemini-on-vertex", "vertex", "", "", "vertex"),
        ("aws", "bedrock", "", "", "bedrock"),
        ("claude", "anthropic", "https://api.anthropic.com", "", "anthropic"),
    ],
)
def test_the_guess(name: str, api_format: str, base_url: str, api_version: str, family: str) -> None:
    assert guess_family(name, api_format, base_url, api_version) == family


def test_responses_capability_defaults_by_family() -> None:
    assert default_responses_api(ProviderFamily.OPENAI, "https://api.openai.com/v1")
    assert default_responses_api(ProviderFamily.AZURE, "https://r.openai.azure.com/openai/v1")
    assert not default_responses_api(ProviderFamily.AZURE, "https://r.openai.azure.com")
    assert not default_responses_api(ProviderFamily.DEEPSEEK, "https://api.deepseek.com/v1")


def test_env_and_toml_declare_family_capability_and_policy() -> None:
    toml = "[mygw]\nbase-url = 'https://gw.example/v1'\nfamily = 'gemini'\nresponses-api = true\n"
    env = {"MYGW_API_KEY": SECRET, "MYGW_HOSTED_TOOLS": "refuse", "BAD_API_KEY": SECRET, "BAD_FAMILY": "x"}
    env["BAD_BASE_URL"] = "https://bad.example/v1"
    config = build_config(environ=env, toml_layers=[(toml, "local.toml")])
    assert config.providers["mygw"].values["family"] == "gemini"
    assert config.providers["mygw"].values["responses_api"] is True
    assert config.providers["mygw"].values["hosted_tools"] == "refuse"
    assert any("family" in error for error in config.providers["bad"].errors)


@pytest.mark.django_db
def test_a_load_guesses_only_what_is_not_declared() -> None:
    toml = (
        "[openai]\nbase-url = 'https://api.openai.com/v1'\n"
        "[deepseek]\nbase-url = 'https://api.deepseek.com/v1'\nfamily = 'compatible'\n"
    )
    env = {"OPENAI_API_KEY": SECRET, "DEEPSEEK_API_KEY": SECRET, "DEEPSEEK_RESPONSES_API": "true"}
    config_apply(config=build_config(environ=env, toml_layers=[(toml, "local.toml")]), dry_run=False)
    openai = Provider.objects.get(name="openai")
    assert (openai.family, openai.responses_api) == (ProviderFamily.OPENAI, True)
    assert "family" not in openai.field_sources  # guessed: editable in the admin
    deepseek = Provider.objects.get(name="deepseek")
    assert (deepseek.family, deepseek.responses_api) == (ProviderFamily.COMPATIBLE, True)
    assert deepseek.field_sources["family"] == "file"


@pytest.mark.django_db
def test_the_snapshot_carries_family_capability_and_both_policies() -> None:
    provider = Provider.objects.create(
        name="corp", api_format=ApiFormat.OPENAI, base_url="https://r.openai.azure.com/openai/v1"
    )
    api_key_create(provider=provider, secret=SECRET)
    team = Team.objects.create(name="strict", hosted_tools=HostedTools.REFUSE)
    GatewayKey.objects.create(team=team, prefix="vk-", key_hash="h" * 64, last4="abcd")
    table = build_routing_table()
    config = table.providers["corp"]
    assert (config.family, config.responses_api, config.hosted_tools) == (
        ProviderFamily.AZURE,
        True,
        HostedTools.DROP,
    )
    assert table.gateway_keys["h" * 64].team.hosted_tools == HostedTools.REFUSE


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_existing_rows_by_the_guess() -> None:
    before, after = (
        [("providers", "0007_provider_total_timeout")],
        [("providers", "0008_family_responses_api_hosted_tools")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("providers", "Provider")
    old.objects.create(name="openrouter", api_format="openai", base_url="https://openrouter.ai/api/v1")
    old.objects.create(name="corp", api_format="openai", base_url="https://r.openai.azure.com/openai/v1")
    old.objects.create(name="aws", api_format="bedrock", region="eu-west-1")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("providers", "Provider")
    rows = {p.name: (p.family, p.responses_api) for p in new.objects.all()}
    assert rows == {"openrouter": ("openrouter", False), "corp": ("azure", True), "aws": ("bedrock", False)}
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
