"""Writes to aliases: the configuration loader, the admin and the REST API use these."""

from typing import Any

from django.db import transaction

from aliases.models import Alias
from providers.config_sync import ApplyReport
from providers.loaders import AliasSpec
from providers.models import Provider, Source
from providers.services import ManagedFieldError


def aliases_apply(*, aliases: list[AliasSpec], providers: dict[str, Provider], report: ApplyReport) -> None:
    """Make the env/file aliases exactly ``aliases``; admin-made aliases are left alone."""
    wanted: dict[tuple[int | None, str], Any] = {}
    for alias in aliases:
        scope = providers.get(alias.provider) if alias.provider else None
        if alias.provider and scope is None:
            report.errors.append(
                f"alias '{alias.name}' ({alias.origin}): provider '{alias.provider}' is not loaded"
            )
            continue
        wanted[(scope.pk if scope else None, alias.name)] = (alias, scope)
    for existing in Alias.objects.filter(source__in=[Source.ENV, Source.FILE]):
        if (existing.provider_id, existing.name) not in wanted:
            existing.delete()
            report.changes.append(f"alias {existing.name}: removed")
    for (_, name), (spec, scope) in wanted.items():
        row = Alias.objects.filter(name=name, provider=scope).first()
        values = {"target": spec.target, "source": spec.source, "is_pattern": spec.is_pattern}
        if row is None:
            Alias.objects.create(name=name, provider=scope, **values)
            report.changes.append(f"alias {name}: created → {spec.target}")
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.save()
            report.changes.append(f"alias {name}: now → {spec.target}")


def alias_create(*, name: str, target: str, **fields: Any) -> Alias:
    """An alias made in the admin or the API (``source`` admin: loads leave it alone)."""
    alias = Alias(name=name.strip().lower(), target=target.strip(), source=Source.ADMIN, **fields)
    with transaction.atomic():
        alias.full_clean()
        alias.save()
    return alias


def alias_update(*, alias: Alias, **fields: Any) -> Alias:
    """Change an alias; one set by the environment or a file is refused (the next load wins)."""
    changed = [name for name, value in fields.items() if getattr(alias, name) != value]
    if alias.source != Source.ADMIN and changed:
        raise ManagedFieldError(alias, changed)
    for name, value in fields.items():
        setattr(alias, name, value)
    alias.name, alias.target = alias.name.strip().lower(), alias.target.strip()
    with transaction.atomic():
        alias.full_clean()
        alias.save()
    return alias


def alias_delete(*, alias: Alias) -> None:
    if alias.source != Source.ADMIN:
        raise ManagedFieldError(alias, ["the alias itself"])
    alias.delete()
