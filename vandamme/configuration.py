"""Load configuration from the environment and the TOML hierarchy into the database.

Spans providers and aliases, so it lives above both apps: one transaction applies the
providers (keys, load results, default) and then the aliases that refer to them.
"""

import os

from django.db import transaction

from aliases.services import aliases_apply
from providers.config_sync import PACKAGED_DEFAULTS, ApplyReport, providers_apply, read_toml_layers
from providers.loaders import ConfigSpec, build_config


class _DryRunRollback(Exception):
    pass


def config_apply(*, config: ConfigSpec, dry_run: bool = False) -> ApplyReport:
    report = ApplyReport(errors=list(config.errors), dry_run=dry_run)
    try:
        with transaction.atomic():
            loaded = providers_apply(config=config, report=report)
            aliases_apply(aliases=config.aliases, providers=loaded, report=report)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def config_load_from_disk(*, dry_run: bool = False, extra_file: str | None = None) -> ApplyReport:
    """Read the environment and the TOML hierarchy, then apply. Raises ConfigFileError."""
    config = build_config(
        environ=os.environ,
        toml_layers=read_toml_layers(extra_file),
        packaged_origin=str(PACKAGED_DEFAULTS),
    )
    return config_apply(config=config, dry_run=dry_run)
