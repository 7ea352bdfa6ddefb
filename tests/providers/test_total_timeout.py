"""The per-provider total deadline (``total_timeout``) from every configuration source."""

import pytest

from providers.loaders import build_config
from tests.api.conftest import RecordingClient, api, staff_user  # noqa: F401

TOML = """
[defaults]
total-timeout = 900

[slow]
api-key = "sk-slow"
base-url = "https://slow.example/v1"
total-timeout = 7200
"""


def test_env_toml_and_defaults_set_it() -> None:
    env = {
        "FAST_API_KEY": "sk-fast",
        "FAST_BASE_URL": "https://fast.example/v1",  # a name no layer knows needs its base URL
        "FAST_TOTAL_TIMEOUT": "45.5",
        "PLAIN_API_KEY": "sk-plain",
        "PLAIN_BASE_URL": "https://plain.example/v1",
    }
    spec = build_config(environ=env, toml_layers=[(TOML, "local.toml")])
    assert spec.providers["fast"].values["total_timeout"] == 45.5
    assert spec.providers["slow"].values["total_timeout"] == 7200.0
    assert spec.providers["plain"].values["total_timeout"] == 900  # [defaults]


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_value_is_a_load_error_naming_it(value: str) -> None:
    env = {"FAST_API_KEY": "sk-fast", "FAST_BASE_URL": "https://fast.example/v1", "FAST_TOTAL_TIMEOUT": value}
    spec = build_config(environ=env, toml_layers=[])
    assert any("total-timeout" in error for error in spec.providers["fast"].errors)


@pytest.mark.django_db
def test_the_api_sets_and_clears_it(api: RecordingClient) -> None:  # noqa: F811  (the fixture)
    body = {"name": "acme", "base_url": "https://acme.example/v1", "total_timeout": 120}
    assert api.post("/api/providers/", body, format="json").json()["total_timeout"] == 120
    assert api.patch("/api/providers/acme/", {"total_timeout": -1}, format="json").status_code == 400
    cleared = api.patch("/api/providers/acme/", {"total_timeout": None}, format="json")
    assert cleared.json()["total_timeout"] is None
