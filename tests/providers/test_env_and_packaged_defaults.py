"""Which environment variables define providers (issue 16.4), and packaged defaults that
describe without locking (16.5)."""

import pytest

from providers.config_sync import PACKAGED_DEFAULTS
from providers.loaders import ConfigSpec, build_config
from providers.models import Provider
from providers.services import provider_update
from vandamme.configuration import config_apply

SECRET = "sk-plaintext-secret-4242424242"


def _config(env: dict[str, str], user_toml: str = "") -> ConfigSpec:
    layers = [(PACKAGED_DEFAULTS.read_text(), str(PACKAGED_DEFAULTS))]
    if user_toml:
        layers.append((user_toml, "vandamme-config.toml"))
    return build_config(environ=env, toml_layers=layers, packaged_origin=str(PACKAGED_DEFAULTS))


def test_keys_of_other_tools_are_ignored_and_listed_once() -> None:
    env = {
        "OPENAI_API_KEY": SECRET,
        "GOOGLE_API_KEY": "AIza-not-ours",
        "TAVILY_API_KEY": "tvly-not-ours",
        "LANGCHAIN_API_KEY": "lsv2-not-ours",
    }
    spec = _config(env)
    assert {"google", "tavily", "langchain"}.isdisjoint(spec.providers)
    assert spec.ignored_variables == ["GOOGLE_API_KEY", "LANGCHAIN_API_KEY", "TAVILY_API_KEY"]
    assert spec.providers["openai"].is_active
    assert not spec.errors


def test_a_known_name_a_base_url_or_a_toml_section_defines_a_provider() -> None:
    env = {
        "GEMINI_API_KEY": "AIza-gemini",  # packaged defaults know gemini
        "MYLLM_API_KEY": "k1",
        "MYLLM_BASE_URL": "http://127.0.0.1:9/v1",  # a base URL says it is a provider
        "LOCAL_API_KEY": "k2",  # the user's file names [local]
    }
    spec = _config(env, "[local]\nbase-url = 'http://127.0.0.1:8/v1'\n")
    for name in ("gemini", "myllm", "local"):
        assert spec.providers[name].is_active, name
    assert spec.ignored_variables == []


@pytest.mark.django_db
def test_the_load_report_carries_the_ignored_variables() -> None:
    report = config_apply(config=_config({"OPENAI_API_KEY": SECRET, "TAVILY_API_KEY": "t"}))
    assert report.ignored_variables == ["TAVILY_API_KEY"]


@pytest.mark.django_db
def test_packaged_defaults_lock_nothing_and_the_admins_change_survives_a_reload() -> None:
    config_apply(config=_config({"OPENAI_API_KEY": SECRET}))
    openai = Provider.objects.get(name="openai")
    assert openai.models_list[:1] == ["gpt-4o"]  # written on the new row
    assert openai.timeout == 300
    for name in ("models_list", "timeout", "max_retries", "base_url", "api_format"):
        assert not openai.is_field_managed(name), name
    provider_update(provider=openai, models_list=["my-model"], timeout=30, max_retries=0)  # no conflict
    config_apply(config=_config({"OPENAI_API_KEY": SECRET}))  # a restart
    openai.refresh_from_db()
    assert (openai.models_list, openai.timeout, openai.max_retries) == (["my-model"], 30, 0)


@pytest.mark.django_db
def test_the_operators_environment_still_locks_what_it_sets() -> None:
    config_apply(config=_config({"OPENAI_API_KEY": SECRET, "OPENAI_TIMEOUT": "12"}))
    openai = Provider.objects.get(name="openai")
    assert openai.timeout == 12
    assert openai.is_field_managed("timeout")
    assert not openai.is_field_managed("models_list")
    config_apply(config=_config({"OPENAI_API_KEY": SECRET}))  # the override goes away
    openai.refresh_from_db()
    assert openai.timeout == 300  # back to the packaged default, editable again
    assert not openai.is_field_managed("timeout")


@pytest.mark.django_db
def test_a_custom_base_url_drops_the_packaged_model_list() -> None:
    config_apply(config=_config({"OPENAI_API_KEY": SECRET}))  # first run: OpenAI itself
    custom = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    spec = _config(custom)
    assert spec.providers["openai"].values["models_list"] == []
    config_apply(config=spec)
    openai = Provider.objects.get(name="openai")
    assert openai.base_url == "http://127.0.0.1:9/v1"
    assert openai.models_list == []  # not gpt-4o and the rest
    assert openai.is_field_managed("base_url")
    assert not openai.is_field_managed("models_list")  # the admin names the endpoint's models
    with_models = {**custom, "OPENAI_MODELS": "big small"}
    assert _config(with_models).providers["openai"].values["models_list"] == ["big", "small"]


@pytest.mark.django_db
def test_the_admins_own_base_url_and_models_survive_a_reload() -> None:
    config_apply(config=_config({"DEEPSEEK_API_KEY": SECRET}))
    deepseek = Provider.objects.get(name="deepseek")
    provider_update(provider=deepseek, base_url="http://127.0.0.1:7/v1", models_list=["mine"])
    config_apply(config=_config({"DEEPSEEK_API_KEY": SECRET}))
    deepseek.refresh_from_db()
    assert (deepseek.base_url, deepseek.models_list) == ("http://127.0.0.1:7/v1", ["mine"])
