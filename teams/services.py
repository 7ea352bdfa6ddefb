"""Writes to teams, their gateway keys and aliases. The admin and the REST API use these."""

import hashlib
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from django.views.decorators.debug import sensitive_variables

from teams.models import BudgetPeriod, GatewayKey, Team, TeamAlias

KEY_PREFIX = "vdm-"
# What may change on a key after creation; its secret never changes (make a new key).
GATEWAY_KEY_EDITABLE = frozenset(
    {
        "label",
        "enabled",
        "expires_at",
        "requests_per_minute",
        "tokens_per_minute",
        "spend_budget_usd",
        "spend_budget_period",
    }
)

M = TypeVar("M", bound=models.Model)


def _save_validated(obj: M, fields: dict[str, Any]) -> M:
    """Assign, validate (field rules and constraints) and save, in one transaction."""
    for name, value in fields.items():
        setattr(obj, name, value)
    with transaction.atomic():
        obj.full_clean()
        obj.save()
    return obj


@sensitive_variables("plaintext")
def gateway_key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@sensitive_variables("plaintext")
def gateway_key_create(
    *,
    team: Team,
    label: str = "",
    enabled: bool = True,
    expires_at: datetime | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    spend_budget_usd: Decimal | None = None,
    spend_budget_period: str = BudgetPeriod.MONTH,
) -> tuple[GatewayKey, str]:
    """Create a key; returns it with its plaintext, which is never stored or shown again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = GatewayKey.objects.create(
        team=team,
        label=label,
        prefix=plaintext[:10],
        key_hash=gateway_key_hash(plaintext),
        last4=plaintext[-4:],
        enabled=enabled,
        expires_at=expires_at,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        spend_budget_usd=spend_budget_usd,
        spend_budget_period=spend_budget_period,
    )
    return key, plaintext


def gateway_key_update(*, key: GatewayKey, **fields: Any) -> GatewayKey:
    unknown = set(fields) - GATEWAY_KEY_EDITABLE
    if unknown:
        raise ValueError(f"gateway keys cannot change {', '.join(sorted(unknown))}")
    return _save_validated(key, fields)


def gateway_key_delete(*, key: GatewayKey) -> None:
    key.delete()


def team_create(*, name: str, **fields: Any) -> Team:
    return _save_validated(Team(name=name), fields)


def team_update(*, team: Team, **fields: Any) -> Team:
    return _save_validated(team, fields)


def team_delete(*, team: Team) -> None:
    """Delete a team with its keys and aliases; its usage records stay (team name kept)."""
    team.delete()


def team_alias_create(*, team: Team, name: str, target: str) -> TeamAlias:
    return _save_validated(TeamAlias(team=team), {"name": name.strip().lower(), "target": target.strip()})


def team_alias_update(*, alias: TeamAlias, **fields: Any) -> TeamAlias:
    if "name" in fields:
        fields["name"] = str(fields["name"]).strip().lower()
    return _save_validated(alias, fields)


def team_alias_delete(*, alias: TeamAlias) -> None:
    alias.delete()
