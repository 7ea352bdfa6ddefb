"""Writes to price overrides: the configuration load, the admin and the REST API use these.

Rows a load wrote (``source`` env or file) follow the configuration exactly and are
read-only elsewhere (``ManagedFieldError``: the next load would undo the edit); rows made
in the admin or the API are the operators'. Saving or deleting a row bumps the
configuration generation (``pricing.signals``), so every process prices with it within
the snapshot TTL.
"""

import logging
from typing import Any

from django.db import transaction

from pricing.loaders import PriceSpec
from pricing.models import PriceOverride
from providers.config_sync import ApplyReport
from providers.models import Source
from providers.services import ManagedFieldError

logger = logging.getLogger(__name__)
PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")


def _describe(spec: PriceSpec) -> str:
    return f"price {spec.provider or '*'}:{spec.model}"


def prices_apply(*, prices: list[PriceSpec], errors: list[str], report: ApplyReport) -> None:
    """Make the env/file overrides exactly ``prices`` (a row an operator made for the same
    provider and model is taken over: configuration wins); report ``errors`` (bad prices,
    skipped) in the load report and the log. Call inside the load's transaction."""
    for error in errors:
        logger.warning("configuration: %s", error)
        report.errors.append(error)
    wanted = {(spec.provider, spec.model.lower()): spec for spec in prices}
    for existing in PriceOverride.objects.filter(source__in=[Source.ENV, Source.FILE]):
        if (existing.provider, existing.model.lower()) not in wanted:
            existing.delete()
            report.changes.append(f"price {existing.provider or '*'}:{existing.model}: removed")
    for (provider, model), spec in wanted.items():
        row = PriceOverride.objects.filter(provider=provider, model__iexact=model).first()
        values: dict[str, Any] = {name: getattr(spec, name) for name in PRICE_FIELDS}
        values.update(model=spec.model, source=spec.source, currency="USD")
        if row is None:
            row = PriceOverride(provider=provider, **values)
            row.full_clean()
            row.save()
            report.changes.append(f"{_describe(spec)}: created")
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.full_clean()
            row.save()
            report.changes.append(f"{_describe(spec)}: updated")


def price_override_create(**fields: Any) -> PriceOverride:
    """An override made in the admin or the API (``source`` admin: loads leave it alone)."""
    override = PriceOverride(**{**fields, "source": Source.ADMIN})
    with transaction.atomic():
        override.full_clean()
        override.save()
    return override


def price_override_update(*, override: PriceOverride, **fields: Any) -> PriceOverride:
    """Change an override; one the environment or a file sets is refused."""
    changed = [name for name, value in fields.items() if getattr(override, name) != value]
    if override.source != Source.ADMIN and changed:
        raise ManagedFieldError(override, changed)
    for name, value in fields.items():
        setattr(override, name, value)
    with transaction.atomic():
        override.full_clean()
        override.save()
    return override


def price_override_delete(*, override: PriceOverride) -> None:
    if override.source != Source.ADMIN:
        raise ManagedFieldError(override, ["the price itself"])
    override.delete()
