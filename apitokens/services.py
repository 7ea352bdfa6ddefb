"""Creating and checking management API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apitokens.models import ApiToken

TOKEN_PREFIX = "vdmapi-"  # noqa: S105  (a prefix to recognise tokens by, not a secret)
# last_used_at is bookkeeping: write it at most this often per token, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@sensitive_variables("plaintext")
def api_token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@sensitive_variables("plaintext")
def api_token_create(*, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a token; returns it with its plaintext, which is never stored or shown again."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        label=label,
        prefix=plaintext[:12],
        token_hash=api_token_hash(plaintext),
        last4=plaintext[-4:],
    )
    return token, plaintext


@sensitive_variables("plaintext")
def api_token_find(plaintext: str) -> ApiToken | None:
    """The token with this plaintext (looked up by hash), marking it used."""
    token = ApiToken.objects.select_related("user").filter(token_hash=api_token_hash(plaintext)).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
