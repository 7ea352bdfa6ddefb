"""Tokens for the REST management API, stored as hashes like the gateway keys.

Not ``rest_framework.authtoken``: its tokens are stored and shown in the admin in
plaintext, and here no secret is kept or shown after it was handed out.
"""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A staff user's token for ``/api/``. Only its sha256 is stored; shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username", "created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.user}: {self.masked}"

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"
