"""Pure loader tests: env + TOML layers → specs, precedence field by field, validation."""

import pytest

from providers.loaders import ConfigFileError, build_config, parse_toml_layer

PACKAGED = """
[defaults]
default-provider = "openai"
timeout = 300
max-retries = 2

[openai]
base-url = "https://packaged.example/v1"
api-format = "openai"
api-version = "packaged-version"
tool-name-sanitization = false
"""
USER = """
[openai]
base-url = "https://user.example/v1"
api-version = "user-version"
timeout = 111
"""
LOCAL = """
[openai]
base-url = "https://local.example/v1"
timeout = 222
"""
ENV = {"OPENAI_API_KEY": "sk-env-key-1234567890", "OPENAI_BASE_URL": "https://env.example/v1"}

LAYERS = {
    "packaged": (PACKAGED, "defaults.toml"),
    "user": (USER, "user.toml"),
    "local": (LOCAL, "local.toml"),
}


def _config(*layer_names: str, env: dict[str, str] | None = None):
    return build_config(environ=env if env is not None else ENV, toml_layers=[LAYERS[n] for n in layer_names])


@pytest.mark.parametrize(
    ("layers", "env", "field", "expected", "source"),
    [
        # base_url is set by every layer: the highest wins
        (("packaged", "user", "local"), ENV, "base_url", "https://env.example/v1", "env"),
        (
            ("packaged", "user", "local"),
            {"OPENAI_API_KEY": "k"},
            "base_url",
            "https://local.example/v1",
            "file",
        ),
        (("packaged", "user"), {"OPENAI_API_KEY": "k"}, "base_url", "https://user.example/v1", "file"),
        (("packaged",), {"OPENAI_API_KEY": "k"}, "base_url", "https://packaged.example/v1", "file"),
        # timeout: local > user > [defaults] of the packaged file; env beats them all
        (("packaged", "user", "local"), {"OPENAI_API_KEY": "k"}, "timeout", 222.0, "file"),
        (("packaged", "user"), {"OPENAI_API_KEY": "k"}, "timeout", 111.0, "file"),
        (("packaged",), {"OPENAI_API_KEY": "k"}, "timeout", 300.0, "file"),
        (
            ("packaged", "user", "local"),
            {"OPENAI_API_KEY": "k", "OPENAI_TIMEOUT": "5"},
            "timeout",
            5.0,
            "env",
        ),
        # api_version: local does not set it, so the user file's value survives (field by field)
        (("packaged", "user", "local"), {"OPENAI_API_KEY": "k"}, "api_version", "user-version", "file"),
        (("packaged",), {"OPENAI_API_KEY": "k"}, "api_version", "packaged-version", "file"),
        (
            ("packaged",),
            {"OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "env-v"},
            "api_version",
            "env-v",
            "env",
        ),
        (("packaged",), {"OPENAI_API_KEY": "k", "OPENAI_MAX_RETRIES": "7"}, "max_retries", 7, "env"),
        (("packaged",), {"OPENAI_API_KEY": "k"}, "max_retries", 2, "file"),
    ],
)
def test_precedence_field_by_field(
    layers: tuple[str, ...], env: dict[str, str], field: str, expected: object, source: str
) -> None:
    spec = _config(*layers, env=env).providers["openai"]
    assert spec.values[field] == expected
    assert spec.field_sources[field] == source


def test_code_defaults_apply_when_no_layer_sets_a_field() -> None:
    spec = build_config(
        environ={"MINE_API_KEY": "k", "MINE_BASE_URL": "https://x.example/v1"}, toml_layers=[]
    )
    provider = spec.providers["mine"]
    assert "timeout" not in provider.values  # the model's default (300 s) stays in force
    assert "api_format" not in provider.values
    assert provider.errors == []


def test_api_key_alone_with_packaged_defaults() -> None:
    spec = build_config(
        environ={"POE_API_KEY": "poe-key"},
        toml_layers=[("[poe]\nbase-url = 'https://api.poe.com/v1'\n", "d")],
    )
    poe = spec.providers["poe"]
    assert poe.is_active
    assert poe.values["base_url"] == "https://api.poe.com/v1"
    assert poe.keys == ["poe-key"]


def test_several_keys_and_passthrough() -> None:
    spec = build_config(
        environ={
            "A_API_KEY": "k1  k2 k3",
            "A_BASE_URL": "https://a/v1",
            "B_API_KEY": "!PASSTHRU",
            "B_BASE_URL": "https://b/v1",
        },
        toml_layers=[],
    )
    assert spec.providers["a"].keys == ["k1", "k2", "k3"]
    assert spec.providers["b"].passthrough
    assert spec.providers["b"].errors == []


def test_custom_headers_aliases_and_default() -> None:
    spec = build_config(
        environ={
            "A_API_KEY": "k",
            "A_BASE_URL": "https://a/v1",
            "A_CUSTOM_HEADER_X_TITLE": "vandamme",
            "A_ALIAS_HAIKU": "small-model",
            "VDM_ALIAS_FAST": "a:fast-model",
            "VDM_DEFAULT_PROVIDER": "A",
            "PROXY_API_KEY": "gateway-key-is-not-a-provider",
            "VDM_SOMETHING_API_KEY": "ignored",
        },
        toml_layers=[],
    )
    assert set(spec.providers) == {"a"}
    assert spec.providers["a"].values["custom_headers"] == {"X-Title": "vandamme"}
    assert spec.default_provider == "a"
    aliases = {(a.provider, a.name): a.target for a in spec.aliases}
    assert aliases == {("a", "haiku"): "small-model", (None, "fast"): "a:fast-model"}


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"A_API_KEY": "k"}, "[a]\napi-format = 'openai'\n", "missing base URL"),
        ({"A_API_KEY": "k", "A_BASE_URL": "ftp://a"}, "", "must start with http"),
        (
            {"A_API_KEY": "k", "A_BASE_URL": "https://a", "A_API_FORMAT": "gopher"},
            "",
            "unknown api-format 'gopher'",
        ),
        ({"A_API_KEY": "!PASSTHRU sk-1", "A_BASE_URL": "https://a"}, "", "cannot be mixed"),
        ({"A_API_KEY": "k", "A_BASE_URL": "https://a", "A_TIMEOUT": "soon"}, "", "timeout"),
        ({"A_API_KEY": "k", "A_BASE_URL": "https://a", "A_TIMEOUT": "-1"}, "", "positive"),
        ({"A_API_KEY": "k", "A_BASE_URL": "https://a", "A_MAX_RETRIES": "x"}, "", "max-retries"),
        (
            {"A_API_KEY": "k", "A_BASE_URL": "https://a", "A_TOOL_NAME_SANITIZATION": "maybe"},
            "",
            "true or false",
        ),
        ({}, "['Bad Name']\napi-key = 'k'\nbase-url = 'https://x'\n", "not a valid provider name"),
    ],
)
def test_validation_errors_are_clear(env: dict[str, str], toml: str, message: str) -> None:
    spec = build_config(environ=env, toml_layers=[(toml, "local.toml")] if toml else [])
    errors = [error for provider in spec.providers.values() for error in provider.errors] + spec.errors
    assert any(message in error for error in errors), errors
    for error in errors:
        assert "sk-1" not in error


def test_invalid_env_provider_name_is_reported() -> None:
    spec = build_config(environ={"9LIVES_API_KEY": "k", "9LIVES_BASE_URL": "https://x"}, toml_layers=[])
    assert any("not a valid provider name" in error for error in spec.errors)


def test_unparseable_toml_names_file_and_line() -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_toml_layer("[openai]\nbase-url = \n", origin="/etc/vandamme.toml")
    assert "/etc/vandamme.toml" in str(caught.value)
    assert "line 2" in str(caught.value)


def test_secrets_do_not_appear_in_repr() -> None:
    spec = build_config(
        environ={"A_API_KEY": "sk-very-secret-value", "A_BASE_URL": "https://a"}, toml_layers=[]
    )
    assert "sk-very-secret-value" not in repr(spec)


def test_toml_aliases_patterns_and_lists() -> None:
    toml = """
[defaults.aliases]
fast = "a:small"
"*sonnet*" = "a:big"

[a]
base-url = "https://a/v1"
api-key = ["k1", "k2"]
models = ["big", "small"]
fallbacks = ["b:other"]

[a.custom-headers]
X-Team = "core"

[a.aliases]
haiku = "small"
"""
    spec = build_config(environ={}, toml_layers=[(toml, "local.toml")])
    provider = spec.providers["a"]
    assert provider.keys == ["k1", "k2"]
    assert provider.values["models_list"] == ["big", "small"]
    assert provider.values["fallbacks"] == ["b:other"]
    assert provider.values["custom_headers"] == {"X-Team": "core"}
    patterns = [alias.name for alias in spec.aliases if alias.is_pattern]
    assert patterns == ["*sonnet*"]
