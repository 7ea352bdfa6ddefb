"""Public model names that resolve to a provider and an upstream model."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from providers.groups import DEFAULT_STRATEGY, STRATEGIES, GroupConfigError, parse_deployments
from providers.models import Provider, Source


class Alias(models.Model):
    """A name clients may send as ``model``, resolved to ``target``.

    ``target`` is ``provider:model`` or a bare ``model`` (of the scope provider, or of the
    default provider for global aliases). A scoped alias only applies to requests that
    already resolved to its provider. Names are stored lower-case: matching is
    case-insensitive.
    """

    name = models.CharField(max_length=200)
    target = models.CharField(max_length=300, blank=True, help_text="provider:model or another alias")
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
    targets = models.JSONField(
        default=list,
        blank=True,
        help_text="A model group: several targets, e.g. "
        '[{"target": "anthropic:claude-sonnet-4", "weight": 3}, '
        '{"target": "bedrock:anthropic.claude-sonnet-4", "weight": 1, "tier": 2, "rpm": 600}]. '
        "Tier 1 is used first; a higher tier only when no lower one is available. "
        "Empty: a plain alias of 'target'. For a group, 'target' shows the first one.",
    )
    strategy = models.CharField(
        max_length=20,
        choices=[(name, name) for name in STRATEGIES],
        default=DEFAULT_STRATEGY,
        help_text="How a group picks a target within a tier (groups only).",
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
        self.fill_group_target()
        self.target = self.target.strip()
        super().save(*args, **kwargs)

    def fill_group_target(self) -> None:
        """A group's ``target`` is its first target (what listings show)."""
        first = self.targets[0] if isinstance(self.targets, list) and self.targets else None
        if isinstance(first, dict) and isinstance(first.get("target"), str):
            self.target = first["target"]
        elif isinstance(first, str):
            self.target = first

    def clean(self) -> None:
        """A group must parse, name known targets and not reach itself again."""
        from aliases.groups import group_problems_in_database  # the check reads other rows

        self.fill_group_target()
        if not self.targets:
            if not self.target.strip():
                raise ValidationError({"target": "a target, or a group's targets, is required"})
            return
        if self.is_pattern:
            raise ValidationError({"targets": "a pattern alias cannot be a group"})
        try:
            deployments = parse_deployments(self.targets)
        except GroupConfigError as error:
            raise ValidationError({"targets": str(error)}) from None
        problems = group_problems_in_database(self.name.strip().lower(), deployments)
        if problems:
            raise ValidationError({"targets": problems})
