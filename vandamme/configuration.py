"""Load configuration from the environment and the TOML hierarchy into the database.

Spans providers, aliases and prices, so it lives above the apps: one transaction applies
the providers (keys, load results, default), then the aliases that refer to them, then the
price overrides.
"""

import os

from django.db import transaction

from aliases.services import aliases_apply
from pricing.loaders import PriceConfig, build_prices
from pricing.services import prices_apply
from providers.config_sync import PACKAGED_DEFAULTS, ApplyReport, providers_apply, read_toml_layers
from providers.loaders import ConfigSpec, build_config


class _DryRunRollback(Exception):
    pass


def config_apply(
    *, config: ConfigSpec, prices: PriceConfig | None = None, dry_run: bool = False
) -> ApplyReport:
    """Apply ``config`` and ``prices`` (None: leave the price overrides as they are)."""
    report = ApplyReport(
        errors=list(config.errors), dry_run=dry_run, ignored_variables=list(config.ignored_variables)
    )
    try:
        with transaction.atomic():
            loaded = providers_apply(config=config, report=report)
            aliases_apply(aliases=config.aliases, providers=loaded, report=report)
            if prices is not None:
                prices_apply(prices=prices.prices, errors=prices.errors, report=report)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def config_load_from_disk(*, dry_run: bool = False, extra_file: str | None = None) -> ApplyReport:
    """Read the environment and the TOML hierarchy, then apply. Raises ConfigFileError."""
    layers = read_toml_layers(extra_file)
    config = build_config(environ=os.environ, toml_layers=layers, packaged_origin=str(PACKAGED_DEFAULTS))
    prices = build_prices(environ=os.environ, toml_layers=layers)
    return config_apply(config=config, prices=prices, dry_run=dry_run)
