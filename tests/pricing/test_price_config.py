"""Prices from TOML and the environment: parsed (pure), applied (idempotent, managed rows),
a bad price reported and skipped while the rest of the configuration loads."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from pricing.loaders import build_prices
from pricing.models import PriceOverride
from providers.models import Provider, Source

GOOD_AND_BAD = """
[openai]
api-key = "sk-from-file-1234567890"

[openai.prices."gpt-4o"]
input = 2.5
output = 10
cache-read = 1.25

[openai.prices."gpt-bad"]
input = -1
output = 2

[openai.prices."gpt-text"]
input = "cheap"
output = 2

[openai.prices."gpt-euro"]
input = 1
output = 2
currency = "EUR"

[defaults.prices."llama3.1:8b"]
input = 0
output = "0.2"
"""


def test_toml_prices_parse_and_bad_ones_are_reported() -> None:
    config = build_prices(environ={}, toml_layers=[(GOOD_AND_BAD, "local.toml")])

    by_model = {spec.model: spec for spec in config.prices}
    assert set(by_model) == {"gpt-4o", "llama3.1:8b"}
    gpt = by_model["gpt-4o"]
    assert (gpt.provider, gpt.input, gpt.output, gpt.cache_read, gpt.cache_write) == (
        "openai",
        Decimal("2.5"),
        Decimal(10),
        Decimal("1.25"),
        None,
    )
    assert by_model["llama3.1:8b"].provider == ""  # [defaults.prices]: any provider
    errors = "\n".join(config.errors)
    assert "openai:gpt-bad (local.toml): input: a price cannot be negative" in errors
    assert "openai:gpt-text (local.toml): input: must be a number" in errors
    assert "openai:gpt-euro (local.toml): currency: only USD is supported, got 'EUR'" in errors


def test_env_prices_beat_files_and_bad_json_is_reported() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-x",
        "OPENAI_PRICES": '{"gpt-4o": {"input": 3, "output": 12}}',
        "MINE_API_KEY": "sk-y",
        "MINE_PRICES": "{not json",
        "OTHER_PRICES": '{"m": {"input": 1, "output": 1}}',  # no provider OTHER: not read
    }
    config = build_prices(environ=environ, toml_layers=[(GOOD_AND_BAD, "local.toml")])

    gpt = next(spec for spec in config.prices if spec.model == "gpt-4o")
    assert (gpt.input, gpt.output, gpt.cache_read, gpt.source, gpt.origin) == (
        Decimal(3),
        Decimal(12),
        None,
        "env",
        "OPENAI_PRICES",
    )
    assert any(error.startswith("price MINE_PRICES: not JSON") for error in config.errors)
    assert not any(spec.provider == "other" for spec in config.prices)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"input": 1}, "output: required"),
        ({"input": True, "output": 1}, "input: must be a number"),
        ({"input": "nan", "output": 1}, "input: must be a finite number"),
        ({"input": 1, "output": 1, "cache-read": -0.5}, "cache-read: a price cannot be negative"),
        ({"input": 1, "output": 1, "inputs": 2}, "unknown key(s) inputs"),
        ("2.5", "must be a table"),
    ],
)
def test_each_kind_of_bad_price_names_its_field(raw: object, message: str) -> None:
    config = build_prices(environ={"X_API_KEY": "k", "X_PRICES": _json({"m": raw})}, toml_layers=[])
    assert config.prices == []
    [error] = config.errors
    assert message in error


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def _load(tmp_path: Path, settings: object, text: str) -> str:
    local = tmp_path / "vandamme-config.toml"
    local.write_text(text)
    settings.VANDAMME_CONFIG_FILE = str(local)  # type: ignore[attr-defined]
    settings.VANDAMME_USER_CONFIG_FILE = str(tmp_path / "absent.toml")  # type: ignore[attr-defined]
    out, err = StringIO(), StringIO()
    call_command("load_config", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_load_config_applies_good_prices_reports_bad_ones_and_loads_the_rest(
    tmp_path: Path, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    output = _load(tmp_path, settings, GOOD_AND_BAD)

    assert Provider.objects.get(name="openai").keys.get().source == Source.FILE  # the rest loaded
    rows = {row.model: row for row in PriceOverride.objects.all()}
    assert set(rows) == {"gpt-4o", "llama3.1:8b"}
    assert rows["gpt-4o"].source == Source.FILE
    assert rows["gpt-4o"].cache_read == Decimal("1.25")
    assert "price openai:gpt-4o: created" in output
    assert "error: price openai:gpt-bad (" in output
    assert "currency: only USD is supported" in output

    again = _load(tmp_path, settings, GOOD_AND_BAD)
    assert "price openai:gpt-4o" not in again.replace("error: price", "")  # idempotent: no change

    _load(tmp_path, settings, GOOD_AND_BAD.replace("cache-read = 1.25\n", ""))
    assert PriceOverride.objects.get(model="gpt-4o").cache_read is None
    _load(tmp_path, settings, '[openai]\napi-key = "sk-from-file-1234567890"\n')
    assert not PriceOverride.objects.exists()  # removed from the file: removed here


@pytest.mark.django_db
def test_a_prices_only_section_defines_no_provider(
    tmp_path: Path, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _load(tmp_path, settings, '[ollama.prices."llama3.1:8b"]\ninput = 0.1\noutput = 0.2\n')

    assert PriceOverride.objects.get().provider == "ollama"
    assert not Provider.objects.filter(name="ollama").exists()  # not switched on by a price
