"""Upstream providers and their encrypted key pools."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from providers.endpoints import effective_base_url
from providers.families import (  # the one enum of formats, pure
    ApiFormat,
    HostedTools,
    ProviderFamily,
    choices_of,
    default_responses_api,
    guess_family,
)
from providers.middleware_specs import validate_middleware

PROVIDER_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
provider_name_validator = RegexValidator(
    PROVIDER_NAME_PATTERN,
    "Provider names are lower-case: a letter, then letters, digits, '_' or '-' (max 63).",
)


class Source(models.TextChoices):
    """Where a row (or one of its fields) was last set from."""

    ENV = "env", "environment"
    FILE = "file", "TOML file"
    ADMIN = "admin", "admin / API"


class Provider(models.Model):
    """An upstream API the gateway forwards to, in one wire format.

    Custom header values are encrypted at rest (``sealed_headers``); ``custom_headers``
    is their shown form, secret-named values masked (``providers.headers``).

    Rows may come from the environment, a TOML file or the admin. ``field_sources``
    maps each field set by a loader to ``env`` or ``file``; the admin shows those
    fields read-only because the next load would override them.
    """

    name = models.CharField(max_length=63, unique=True, validators=[provider_name_validator])
    api_format = models.CharField(
        "API format", max_length=16, choices=choices_of(ApiFormat), default="openai"
    )
    family = models.CharField(
        max_length=16,
        choices=choices_of(ProviderFamily),
        blank=True,
        help_text="Whose API this is: decides its quirks (Gemini, DeepSeek, OpenRouter) and Azure's "
        "URLs and header. When not declared ({NAME}_FAMILY, TOML family) it was guessed from the "
        "name and base URL when the provider was created: check it.",
    )
    responses_api = models.BooleanField(
        "speaks the Responses API",
        null=True,
        blank=True,
        help_text="Speaks OpenAI's Responses API natively (/v1/responses is passed through). "
        "Blank: the family's default (OpenAI yes; Azure only on its v1 API, a base URL ending "
        "/openai/v1; others no).",
    )
    hosted_tools = models.CharField(
        max_length=8,
        choices=choices_of(HostedTools),
        default=HostedTools.DROP.value,
        help_text="Hosted tools (web_search, file_search …) this provider cannot run: drop them "
        "(noted in the log and a response header) or refuse the request with a 400.",
    )
    base_url = models.CharField(
        "base URL",
        max_length=500,
        blank=True,
        help_text="Bedrock and Vertex: leave blank for the region's public endpoint.",
    )
    api_version = models.CharField("API version", max_length=64, blank=True)
    region = models.CharField(
        max_length=64, blank=True, help_text="Bedrock: AWS region (signing scope). Vertex: location."
    )
    project = models.CharField(
        max_length=100, blank=True, help_text="Vertex: Google Cloud project (default: the key's project_id)."
    )
    requires_key = models.BooleanField(
        "requires a key",
        default=True,
        help_text="Off: serves without a key (e.g. Ollama). Bedrock and Vertex: see below.",
    )
    ambient_credentials = models.BooleanField(
        default=False,
        help_text="Bedrock and Vertex: with no key in the pool, sign with this host's own cloud "
        "identity (AWS environment/profile/instance role; Google Application Default "
        "Credentials). Off: an empty or all-disabled pool stops the provider.",
    )
    timeout = models.FloatField(
        "timeout (seconds)", default=300.0, help_text="Seconds; also the longest gap between streamed chunks."
    )
    total_timeout = models.FloatField(
        "total timeout (seconds)",
        null=True,
        blank=True,
        help_text="Seconds a call may take in all, however steadily the upstream answers. "
        "Blank: 3600 for streams, 600 for whole answers.",
    )
    max_retries = models.PositiveSmallIntegerField(default=2)
    # Shown: secret-named values as the mask. The values themselves are in sealed_headers
    # (providers.headers): set both through provider_headers_set, never one alone.
    custom_headers = models.JSONField(default=dict, blank=True)
    sealed_headers = models.JSONField(default=dict, blank=True, editable=False)
    tool_name_sanitization = models.BooleanField(
        default=False, help_text="Rewrite tool names to [A-Za-z0-9_-]{1,64} going up, restore coming back."
    )
    passthrough = models.BooleanField(default=False, help_text="Forward the client's own API key upstream.")
    models_list = models.JSONField(
        "models", default=list, blank=True, help_text="Model ids this provider serves (listed by /v1/models)."
    )
    fallbacks = models.JSONField(
        default=list,
        blank=True,
        help_text="Tried in order when this provider fails with a retryable error: a provider "
        "name (same model there) or provider:model.",
    )
    middleware = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_middleware],
        help_text='Middleware for calls served here, after the global ones: a list of {"path": '
        '"package.module.Class", "options": {...}, "on_error": "refuse" | "pass"}.',
    )
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(
        "default provider", default=False, help_text="Bare model names go to the default provider."
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    field_sources = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(name=Lower("name")), name="provider_name_lowercase"),
            models.CheckConstraint(condition=models.Q(timeout__gt=0), name="provider_timeout_positive"),
            models.CheckConstraint(
                condition=models.Q(total_timeout__isnull=True) | models.Q(total_timeout__gt=0),
                name="provider_total_timeout_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(api_format__in=list(ApiFormat)), name="provider_api_format_known"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_provider"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_declared_defaults()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "family", "responses_api"}
        super().save(*args, **kwargs)

    def fill_declared_defaults(self) -> None:
        """The family and capability a provider gets when none was declared: guessed once,
        from its format, name and base URL, and kept (shown and editable in the admin)."""
        if not self.family:
            self.family = guess_family(self.name, self.api_format, self.resolved_base_url, self.api_version)
        if self.responses_api is None:
            self.responses_api = default_responses_api(self.family, self.resolved_base_url)

    def managed_fields(self) -> list[str]:
        """The fields the next load sets again, so the admin and the API refuse to change
        them: those a load wrote (``field_sources``) and the name of a loaded row (the
        load finds its row by name)."""
        names = list(self.field_sources)
        if self.source != Source.ADMIN:
            names.append("name")
        return names

    def is_field_managed(self, field_name: str) -> bool:
        return field_name in self.managed_fields()

    @property
    def resolved_base_url(self) -> str:
        return effective_base_url(self.api_format, self.base_url, self.region)

    def clean(self) -> None:
        if not self.resolved_base_url:
            raise ValidationError({"base_url": "A base URL is required (Bedrock and Vertex: or a region)."})


class ApiKey(models.Model):
    """One upstream credential in a provider's pool, encrypted at rest.

    The plaintext is never stored or shown: ``ciphertext`` is a Fernet token,
    ``fingerprint`` (a sha256 prefix) and ``last4`` identify the key in pages and logs.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="keys")
    ciphertext = models.TextField(editable=False)
    fingerprint = models.CharField(max_length=16, editable=False)
    last4 = models.CharField(max_length=4, blank=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    auto_disabled = models.BooleanField(
        default=False,
        editable=False,
        help_text="Disabled by the gateway after repeated authentication failures (not by an "
        "operator): the next configuration load re-enables a key set by the environment or a file.",
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=200, blank=True)
    cooldown_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider__name", "id"]
        verbose_name = "API key"
        constraints = [
            models.UniqueConstraint(fields=["provider", "fingerprint"], name="unique_key_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.provider.name} key {self.masked}"

    @property
    def masked(self) -> str:
        return f"{self.fingerprint} …{self.last4}" if self.last4 else self.fingerprint


class LoadStatus(models.TextChoices):
    SUCCESS = "success", "success"
    PARTIAL = "partial", "partial"
    FAILURE = "failure", "failure"
    INACTIVE = "inactive", "inactive (no key)"


class ProviderLoadResult(models.Model):
    """The outcome of the last configuration load for one provider name.

    Kept separately from Provider because a failed load may not produce a Provider row.
    """

    provider_name = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=8, choices=LoadStatus.choices)
    message = models.TextField(blank=True)
    key_fingerprints = models.JSONField(default=list, blank=True)
    base_url = models.CharField("base URL", max_length=500, blank=True)
    api_format = models.CharField("API format", max_length=16, blank=True)
    sources = models.JSONField(default=list, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_name"]

    def __str__(self) -> str:
        return f"{self.provider_name}: {self.status}"


class ConfigGeneration(models.Model):
    """A single row counting configuration changes.

    Gateway processes compare it with the generation their routing snapshot was built
    from (at most once per ``VANDAMME_SNAPSHOT_TTL``). With ``REDIS_URL`` the counter is
    read from Redis instead and this row is only a durable copy.
    """

    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="single_generation_row")]

    def __str__(self) -> str:
        return f"configuration generation {self.value}"
