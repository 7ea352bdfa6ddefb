"""Price overrides from TOML files and the environment → ``PriceSpec``s. Pure.

TOML: ``[NAME.prices."MODEL"]`` (a provider's model) and ``[defaults.prices."MODEL"]``
(the model on any provider), with ``input``, ``output``, ``cache-read``, ``cache-write``
in US dollars per million tokens and ``currency`` (only "USD"). Environment:
``{NAME}_PRICES`` as JSON, ``{"MODEL": {"input": 2.5, "output": 10}}``. Layers as for
providers (``providers.loaders``): later files win, the environment beats every file,
per (provider, model). A bad price is reported and skipped; the others load.
"""

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

PRICE_KEYS = {"input": "input", "output": "output", "cache-read": "cache_read", "cache-write": "cache_write"}
REQUIRED = ("input", "output")
CURRENCY = "USD"
GATEWAY_PREFIXES = ("VDM_", "VANDAMME_")


@dataclass(frozen=True)
class PriceSpec:
    """One model's price as a layer sets it (USD per million tokens); provider "" is any."""

    provider: str
    model: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None
    cache_write: Decimal | None
    source: str  # env | file
    origin: str  # the variable or the file


@dataclass
class PriceConfig:
    prices: list[PriceSpec] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _amount(name: str, value: Any) -> Decimal:
    """A price as a Decimal; a bool, NaN, infinity, text or a negative number is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name}: must be a number (USD per million tokens), got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    try:
        # str() of a float: 2.5 stays 2.5, not the binary fraction Decimal(2.5) would keep.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name}: must be a number (USD per million tokens), got {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if amount < 0:
        raise ValueError(f"{name}: a price cannot be negative, got {value!r}")
    return amount


def price_spec(provider: str, model: str, raw: Any, *, source: str, origin: str) -> PriceSpec:
    """One price from its TOML table or JSON object; raises ValueError naming the field."""
    if not isinstance(raw, Mapping):
        raise ValueError("must be a table of input, output, cache-read, cache-write (USD per million tokens)")
    if not model.strip():
        raise ValueError("the model name is empty")
    unknown = sorted(set(raw) - set(PRICE_KEYS) - {"currency", "cache_read", "cache_write"})
    if unknown:
        known = ", ".join([*PRICE_KEYS, "currency"])
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {known})")
    currency = raw.get("currency", CURRENCY)
    if currency != CURRENCY:
        raise ValueError(f"currency: only USD is supported, got {currency!r} (convert the price to USD)")
    missing = [key for key in REQUIRED if key not in raw]
    if missing:
        raise ValueError(f"{', '.join(missing)}: required")
    cache: dict[str, Decimal | None] = {}
    for key in ("cache-read", "cache-write"):
        name = PRICE_KEYS[key]
        value = raw.get(key, raw.get(name))  # cache-read, or cache_read as JSON writers spell it
        cache[name] = None if value is None else _amount(key, value)
    return PriceSpec(
        provider=provider,
        model=model.strip(),
        input=_amount("input", raw["input"]),
        output=_amount("output", raw["output"]),
        cache_read=cache["cache_read"],
        cache_write=cache["cache_write"],
        source=source,
        origin=origin,
    )


def _apply_table(config: PriceConfig, provider: str, table: Any, *, source: str, origin: str) -> None:
    where = f"[{provider or 'defaults'}.prices]"
    if not isinstance(table, Mapping):
        config.errors.append(f"price {where} ({origin}): must be a table of model names to prices (skipped)")
        return
    for model, raw in table.items():
        try:
            config.prices.append(price_spec(provider, str(model), raw, source=source, origin=origin))
        except ValueError as exc:
            config.errors.append(f"price {provider or '*'}:{model} ({origin}): {exc} (skipped)")


def apply_toml_prices(config: PriceConfig, data: Mapping[str, Any], *, origin: str) -> None:
    for section, table in data.items():
        if isinstance(table, Mapping) and "prices" in table:
            provider = "" if section == "defaults" else section.lower()
            _apply_table(config, provider, table["prices"], source="file", origin=origin)


def _env_prefixes(environ: Mapping[str, str], sections: set[str]) -> set[str]:
    """Providers the environment or a file defines (``{NAME}_API_KEY``, a TOML section)."""
    prefixes = {v.removesuffix("_API_KEY") for v in environ if v.endswith("_API_KEY")}
    prefixes |= {name.upper().replace("-", "_") for name in sections}
    return {p for p in prefixes if p and not p.startswith(GATEWAY_PREFIXES) and p != "PROXY"}


def apply_env_prices(config: PriceConfig, environ: Mapping[str, str], sections: set[str]) -> None:
    for prefix in sorted(_env_prefixes(environ, sections)):
        variable = f"{prefix}_PRICES"
        text = environ.get(variable, "").strip()
        if not text:
            continue
        try:
            table = json.loads(text)
        except ValueError as exc:
            config.errors.append(f"price {variable}: not JSON ({exc.args[0]}) (skipped)")
            continue
        _apply_table(config, prefix.lower(), table, source="env", origin=variable)


def _latest(prices: list[PriceSpec]) -> list[PriceSpec]:
    """Later layers win: the last price of each (provider, model)."""
    latest: dict[tuple[str, str], PriceSpec] = {}
    for spec in prices:
        latest[(spec.provider, spec.model.lower())] = spec
    return list(latest.values())


def build_prices(*, environ: Mapping[str, str], toml_layers: list[tuple[str, str]]) -> PriceConfig:
    """Every layer's prices merged; ``toml_layers`` is ``[(text, origin), …]``, lowest first
    (already parsed once by ``providers.loaders``, which raises on a broken file)."""
    config = PriceConfig()
    sections: set[str] = set()
    for text, origin in toml_layers:
        data = tomllib.loads(text)
        sections |= {name for name, table in data.items() if isinstance(table, dict) and name != "defaults"}
        apply_toml_prices(config, data, origin=origin)
    apply_env_prices(config, environ, sections)
    config.prices = _latest(config.prices)
    return config
