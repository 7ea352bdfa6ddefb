"""Tenants of a shared gateway: teams, their gateway keys and their own aliases."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from providers.families import HostedTools, choices_of
from providers.middleware_specs import validate_middleware


class BudgetPeriod(models.TextChoices):
    DAY = "day", "per day"
    WEEK = "week", "per week"
    MONTH = "month", "per month"


class Team(models.Model):
    """A group of clients with its own keys, allow lists and aliases.

    Empty allow lists mean "everything". ``allowed_models`` entries match the model name
    the client sent, the alias it used, or ``provider:model`` as served, and may be globs.
    """

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    allowed_providers = models.JSONField(default=list, blank=True, help_text="Provider names; empty: all.")
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model names, aliases or globs (e.g. openai:gpt-4o*); empty: all."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Input + output tokens.")
    token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens per budget period."
    )
    budget_period = models.CharField(max_length=5, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH)
    spend_budget_usd = models.DecimalField(
        "spend budget (USD)",
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="US dollars per spend budget period; empty: no money budget.",
    )
    spend_budget_period = models.CharField(
        max_length=5, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH
    )
    spend_alert_percent = models.PositiveSmallIntegerField(
        "spend alert at (%)",
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="A spend budget's soft threshold: one log line and a metric per period.",
    )
    hosted_tools = models.CharField(
        max_length=8,
        blank=True,
        choices=[("", "the provider's policy"), *choices_of(HostedTools)],
        help_text="Hosted tools (web_search …) the serving provider cannot run: drop or refuse "
        "them for this team's calls. Blank: as the provider says.",
    )
    middleware = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_middleware],
        help_text="Middleware for this team's calls, after the provider's: a list of {\"path\": "
        '"package.module.Class", "options": {...}, "on_error": "refuse" | "pass"}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GatewayKey(models.Model):
    """A client key of a team. Only its sha256 is stored; the key is shown once, at creation."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The first characters, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    enabled = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the team's.")
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the team's.")
    spend_budget_usd = models.DecimalField(
        "spend budget (USD)",
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="US dollars per period for this key, in addition to the team's; empty: none.",
    )
    spend_budget_period = models.CharField(
        max_length=5, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "created_at"]

    def __str__(self) -> str:
        return f"{self.team.name}: {self.masked}"

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"


class TeamAlias(models.Model):
    """An alias only this team sees; it takes precedence over global aliases."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)
    target = models.CharField(max_length=300)

    class Meta:
        ordering = ["team__name", "name"]
        verbose_name_plural = "team aliases"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_team_alias"),
            models.CheckConstraint(condition=models.Q(name=Lower("name")), name="team_alias_name_lowercase"),
        ]

    def __str__(self) -> str:
        return f"{self.team.name}/{self.name} → {self.target}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.name = self.name.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class UsageRecord(models.Model):
    """One proxied request: who, what was asked and served, tokens, outcome, time.

    Written in batches off the request path (``routing.usage``); team name and key
    prefix are kept as text too, so records outlive a deleted team or key.
    """

    created_at = models.DateTimeField(db_index=True)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage")
    team_name = models.CharField(max_length=100, blank=True)
    key_prefix = models.CharField(max_length=12, blank=True)
    provider = models.CharField(max_length=63)
    model_requested = models.CharField(max_length=300)
    model_served = models.CharField(max_length=300)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens read from the cache.")
    cache_write_tokens = models.PositiveIntegerField(default=0, help_text="Input tokens cached.")
    reasoning_tokens = models.PositiveIntegerField(default=0, help_text="Of the output tokens, reasoning.")
    cost_usd = models.DecimalField(
        "cost (USD)",
        max_digits=18,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="What the call cost in US dollars; empty when the model has no known price.",
    )
    unpriced = models.BooleanField(default=False, help_text="The served model had no known price.")
    price_version = models.CharField(
        max_length=100, blank=True, help_text="The price data used: genai-prices' version or an override."
    )
    key_id = models.BigIntegerField(
        "gateway key id", null=True, blank=True, help_text="The gateway key's id (spend per key)."
    )
    status = models.PositiveSmallIntegerField()
    latency_ms = models.PositiveIntegerField("latency (ms)", default=0)
    streamed = models.BooleanField(default=False)
    ttft_ms = models.PositiveIntegerField(
        "time to first token (ms)",
        null=True,
        blank=True,
        help_text="Streams: milliseconds to the first chunk sent to the client.",
    )
    error = models.CharField(max_length=300, blank=True, help_text="An error answer's message.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "created_at"], name="usage_team_time"),
            models.Index(fields=["provider", "created_at"], name="usage_provider_time"),
            models.Index(fields=["key_id", "created_at"], name="usage_key_time"),
            # The dashboard's "recent errors": newest first, without scanning the successes.
            models.Index(
                fields=["-created_at"], condition=models.Q(status__gte=400), name="usage_errors_recent"
            ),
        ]

    def __str__(self) -> str:
        served = f"{self.provider}:{self.model_served}"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.team_name or '-'} {served} {self.status}"


class UsageDeadLetter(models.Model):
    """A usage event the database refused for good (a row-specific error), kept apart so
    it never blocks the records behind it. Written by ``routing.usage_writer``."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event = models.TextField(help_text="The usage event as JSON (ASCII, so any database stores it).")
    error_class = models.CharField(max_length=100)
    error = models.CharField(max_length=500, blank=True, help_text="The database's message, scrubbed.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.error_class}"
