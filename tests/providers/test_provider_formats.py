"""Configuring every provider of the packaged defaults: Bedrock and Vertex (regions,
projects, their secret formats, ambient credentials), keyless providers such as Ollama,
and the example files in examples/, each loaded as an operator would load it."""

import json
from pathlib import Path

import pytest

from providers.config_sync import PACKAGED_DEFAULTS
from providers.loaders import ConfigSpec, build_config
from providers.models import LoadStatus, Provider, ProviderLoadResult
from routing.snapshot import build_routing_table
from vandamme.configuration import config_apply

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "project_id": "from-the-key",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE, with spaces\n-----END PRIVATE KEY-----\n",
        "client_email": "gw@from-the-key.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    },
    indent=2,
)


def load(environ: dict[str, str], *extra: Path) -> ConfigSpec:
    layers = [(PACKAGED_DEFAULTS.read_text(), str(PACKAGED_DEFAULTS))]
    layers += [(path.read_text(), str(path)) for path in extra]
    config = build_config(environ=environ, toml_layers=layers, packaged_origin=str(PACKAGED_DEFAULTS))
    config_apply(config=config)
    return config


def result(name: str) -> ProviderLoadResult:
    return ProviderLoadResult.objects.get(provider_name=name)


def test_keyless_providers_stay_inactive_until_configured() -> None:
    load({"OPENAI_API_KEY": "sk-test-0123456789"})
    for name in ("ollama", "bedrock", "vertex"):
        assert result(name).status == LoadStatus.INACTIVE
        assert "not configured" in result(name).message
    assert not Provider.objects.filter(name__in=["ollama", "bedrock", "vertex"]).exists()
    assert Provider.objects.get(is_default=True).name == "openai"


def test_ollama_base_url_alone_enables_it_without_a_key() -> None:
    load({"OLLAMA_BASE_URL": "http://gpu-box:11434/v1"})
    assert result("ollama").status == LoadStatus.SUCCESS
    assert result("ollama").message == "no key needed"
    table = build_routing_table()
    assert table.providers["ollama"].base_url == "http://gpu-box:11434/v1"
    assert table.providers["ollama"].keys == ()
    assert table.default_provider == "ollama"  # the only active provider


def test_bedrock_region_alone_is_inactive_and_names_the_ambient_switch() -> None:
    """The host's own AWS identity is never used unless the operator says so."""
    load({"BEDROCK_REGION": "eu-west-1"})
    assert result("bedrock").status == LoadStatus.INACTIVE
    assert "BEDROCK_AMBIENT_CREDENTIALS=true" in result("bedrock").message
    assert "bedrock" not in build_routing_table().providers


def test_bedrock_region_and_ambient_credentials_use_the_aws_environment() -> None:
    load({"BEDROCK_REGION": "eu-west-1", "BEDROCK_AMBIENT_CREDENTIALS": "true"})
    assert Provider.objects.get(name="bedrock").ambient_credentials is True
    assert result("bedrock").status == LoadStatus.SUCCESS
    assert result("bedrock").message == "credentials from the environment"
    assert result("bedrock").base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    bedrock = build_routing_table().providers["bedrock"]
    assert (bedrock.api_format, bedrock.region, bedrock.requires_key) == ("bedrock", "eu-west-1", False)
    assert bedrock.base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"


def test_bedrock_key_pool_and_region_from_the_endpoint() -> None:
    load(
        {
            "BEDROCK_API_KEY": "AKIDONE:secretone AKIDTWO:secrettwo:sessiontoken",
            "BEDROCK_BASE_URL": "https://bedrock-runtime.ap-south-1.amazonaws.com",
        }
    )
    bedrock = build_routing_table().providers["bedrock"]
    assert [key.secret for key in bedrock.keys] == ["AKIDONE:secretone", "AKIDTWO:secrettwo:sessiontoken"]
    assert bedrock.region == "ap-south-1"


def test_a_service_account_key_in_the_environment_is_one_key_and_names_the_project() -> None:
    load({"VERTEX_API_KEY": SERVICE_ACCOUNT, "VERTEX_REGION": "us-east5"})
    assert result("vertex").status == LoadStatus.SUCCESS
    vertex = build_routing_table().providers["vertex"]
    assert [key.secret for key in vertex.keys] == [SERVICE_ACCOUNT]
    assert (vertex.project, vertex.region) == ("from-the-key", "us-east5")
    assert vertex.base_url == "https://us-east5-aiplatform.googleapis.com"
    assert "PRIVATE KEY" not in repr(vertex)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"BEDROCK_API_KEY": "AKID:secret", "BEDROCK_BASE_URL": "https://proxy.example"},
            "bedrock needs a region",
        ),
        ({"VERTEX_REGION": "us-east5", "VERTEX_AMBIENT_CREDENTIALS": "1"}, "vertex needs a project"),
        ({"VERTEX_PROJECT": "p", "VERTEX_REGION": "", "VERTEX_AMBIENT_CREDENTIALS": "1"}, "missing base URL"),
        (
            {"GEMINI_API_KEY": "k", "GEMINI_API_FORMAT": "bedrock-ish"},
            "supported: openai, anthropic, bedrock, vertex",
        ),
    ],
)
def test_cloud_configuration_errors_are_clear(environ: dict[str, str], message: str) -> None:
    config = load(environ)
    errors = [error for spec in config.providers.values() for error in spec.errors]
    assert any(message in error for error in errors), errors


def test_requires_key_can_be_set_from_the_environment() -> None:
    load({"LOCALLLM_REQUIRES_KEY": "false", "LOCALLLM_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert "localllm" not in build_routing_table().providers  # no _API_KEY: not discovered
    load({"LOCALLLM_API_KEY": "unused", "LOCALLLM_REQUIRES_KEY": "false", "LOCALLLM_BASE_URL": "http://x/v1"})
    assert build_routing_table().providers["localllm"].requires_key is False


def test_multi_provider_example_loads() -> None:
    load(
        {
            "OPENAI_API_KEY": "sk-test-openai-0123456789",
            "GEMINI_API_KEY": "AIza-test-0123456789",
            "DEEPSEEK_API_KEY": "sk-test-deepseek-0123456789",
            "OPENROUTER_API_KEY": "sk-or-test-0123456789",
        },
        EXAMPLES / "multi-provider.toml",
    )
    table = build_routing_table()
    assert set(table.providers) == {"openai", "gemini", "deepseek", "openrouter", "ollama"}
    assert table.default_provider == "openai"
    assert table.providers["gemini"].tool_name_sanitization
    assert dict(table.providers["openrouter"].custom_headers)["X-Title"] == "Example gateway"
    assert table.global_aliases["smart"].target == "gemini:gemini-2.5-pro"


def test_anthropic_direct_example_loads() -> None:
    load(
        {"ANTHROPIC_API_KEY": "sk-ant-one-0123456789 sk-ant-two-0123456789"},
        EXAMPLES / "anthropic-direct.toml",
    )
    table = build_routing_table()
    assert table.default_provider == "anthropic"
    assert len(table.providers["anthropic"].keys) == 2
    assert table.providers["anthropic"].timeout == 600


def test_bedrock_example_loads_with_and_without_keys() -> None:
    load({}, EXAMPLES / "bedrock.toml")
    bedrock = build_routing_table().providers["bedrock"]
    assert (bedrock.region, bedrock.keys) == ("us-east-1", ())
    load({"BEDROCK_API_KEY": "AKIDEXAMPLE:secretsecret"}, EXAMPLES / "bedrock.toml")
    assert len(build_routing_table().providers["bedrock"].keys) == 1


def test_vertex_example_loads() -> None:
    load({"VERTEX_API_KEY": SERVICE_ACCOUNT}, EXAMPLES / "vertex.toml")
    table = build_routing_table()
    vertex = table.providers["vertex"]
    assert (vertex.project, vertex.region) == ("my-gcp-project", "us-east5")
    assert table.default_provider == "vertex"
