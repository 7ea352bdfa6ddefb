"""Public model names that resolve to a provider and an upstream model."""

from typing import Any

from django.db import models
from django.db.models.functions import Lower

from providers.models import Provider, Source


class Alias(models.Model):
    """A name clients may send as ``model``, resolved to ``target``.

    ``target`` is ``provider:model`` or a bare ``model`` (of the scope provider, or of the
    default provider for global aliases). A scoped alias only applies to requests that
    already resolved to its provider. Names are stored lower-case: matching is
    case-insensitive.
    """

    name = models.CharField(max_length=200)
    target = models.CharField(max_length=300)
    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="aliases",
        help_text="Scope: the alias applies only to this provider. Empty means global.",
    )
    is_pattern = models.BooleanField(
        default=False,
        help_text="Match the name as a glob (e.g. *sonnet*) against model ids no exact alias decides.",
    )
    fallbacks = models.JSONField(
        default=list,
        blank=True,
        help_text="Ordered model names (provider:model or aliases) tried when the target fails "
        "with a retryable error before any byte reached the client.",
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "aliases"
        constraints = [
            models.CheckConstraint(condition=models.Q(name=Lower("name")), name="alias_name_lowercase"),
            models.CheckConstraint(condition=~models.Q(target=""), name="alias_target_not_empty"),
            models.CheckConstraint(
                condition=models.Q(is_pattern=False) | models.Q(provider__isnull=True),
                name="pattern_alias_is_global",
                violation_error_message="Pattern aliases are global: leave the provider empty.",
            ),
            models.UniqueConstraint(fields=["name", "provider"], name="unique_scoped_alias"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(provider__isnull=True), name="unique_global_alias"
            ),
        ]

    def __str__(self) -> str:
        scope = f"{self.provider.name}/" if self.provider is not None else ""
        return f"{scope}{self.name} → {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = self.name.strip().lower()
        self.target = self.target.strip()
        super().save(*args, **kwargs)
