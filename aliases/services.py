"""Writes to aliases: the configuration loader, the admin and the REST API use these."""

from typing import Any

from django.db import transaction

from aliases.groups import alias_edges, group_problems
from aliases.models import Alias
from providers.config_sync import ApplyReport
from providers.loaders import AliasSpec
from providers.models import Provider, Source
from providers.services import ManagedFieldError


def aliases_apply(*, aliases: list[AliasSpec], providers: dict[str, Provider], report: ApplyReport) -> None:
    """Make the env/file aliases exactly ``aliases``; admin-made aliases are left alone."""
    wanted: dict[tuple[int | None, str], Any] = {}
    bad_groups = _bad_groups(aliases, providers, report)
    for alias in aliases:
        scope = providers.get(alias.provider) if alias.provider else None
        if alias.provider and scope is None:
            report.errors.append(
                f"alias '{alias.name}' ({alias.origin}): provider '{alias.provider}' is not loaded"
            )
            continue
        if alias in bad_groups:
            continue
        wanted[(scope.pk if scope else None, alias.name)] = (alias, scope)
    for existing in Alias.objects.filter(source__in=[Source.ENV, Source.FILE]):
        if (existing.provider_id, existing.name) not in wanted:
            existing.delete()
            report.changes.append(f"alias {existing.name}: removed")
    for (_, name), (spec, scope) in wanted.items():
        row = Alias.objects.filter(name=name, provider=scope).first()
        values = {
            "target": spec.target,
            "source": spec.source,
            "is_pattern": spec.is_pattern,
            "targets": [deployment.as_dict() for deployment in spec.targets],
            "strategy": spec.strategy,
        }
        if row is None:
            Alias.objects.create(name=name, provider=scope, **values)
            report.changes.append(f"alias {name}: created → {spec.target}")
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.save()
            report.changes.append(f"alias {name}: now → {spec.target}")


def _bad_groups(
    aliases: list[AliasSpec], providers: dict[str, Provider], report: ApplyReport
) -> list[AliasSpec]:
    """Groups naming an unknown target or reaching themselves again: reported, not loaded."""
    loaded = {
        spec.name: [member.target.lower() for member in spec.targets] or [spec.target.lower()]
        for spec in aliases
        if spec.provider is None
    }
    edges = alias_edges(loaded)
    bad = []
    for spec in aliases:
        if not spec.targets:
            continue
        for problem in group_problems(spec.name, spec.targets, providers=providers, edges=edges):
            report.errors.append(f"group '{spec.name}' ({spec.origin}): {problem}")
            bad.append(spec)
    return bad


def alias_create(*, name: str, target: str = "", **fields: Any) -> Alias:
    """An alias made in the admin or the API (``source`` admin: loads leave it alone).
    A group (``targets``) may leave ``target`` out: its first target fills it."""
    alias = Alias(name=name.strip().lower(), target=target.strip(), source=Source.ADMIN, **fields)
    alias.fill_group_target()
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
    alias.fill_group_target()
    alias.name, alias.target = alias.name.strip().lower(), alias.target.strip()
    with transaction.atomic():
        alias.full_clean()
        alias.save()
    return alias


def alias_delete(*, alias: Alias) -> None:
    if alias.source != Source.ADMIN:
        raise ManagedFieldError(alias, ["the alias itself"])
    alias.delete()
