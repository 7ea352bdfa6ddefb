"""Writes to teams and gateway keys."""

import hashlib
import secrets
from datetime import datetime

from django.views.decorators.debug import sensitive_variables

from teams.models import GatewayKey, Team

KEY_PREFIX = "vdm-"


@sensitive_variables("plaintext")
def gateway_key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@sensitive_variables("plaintext")
def gateway_key_create(
    *, team: Team, label: str = "", expires_at: datetime | None = None
) -> tuple[GatewayKey, str]:
    """Create a key; returns it with its plaintext, which is never stored or shown again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = GatewayKey.objects.create(
        team=team,
        label=label,
        prefix=plaintext[:10],
        key_hash=gateway_key_hash(plaintext),
        last4=plaintext[-4:],
        expires_at=expires_at,
    )
    return key, plaintext
