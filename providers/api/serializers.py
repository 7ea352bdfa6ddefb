"""Shapes of providers, keys and load results in the REST API. Secrets are write-only:
a key's ``secret`` is accepted, never returned; custom header values are stored encrypted
and secret-named ones read back masked."""

from typing import Any

from rest_framework import serializers

from audit.masking import MASK, mask_headers
from providers.headers import headers_without_stored_value
from providers.models import ApiKey, Provider, ProviderLoadResult


class ProviderSerializer(serializers.ModelSerializer[Provider]):
    models = serializers.ListField(source="models_list", child=serializers.CharField(), required=False)
    fallbacks = serializers.ListField(child=serializers.CharField(), required=False)
    custom_headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Stored encrypted. Values of headers whose name contains key, token, secret, auth, "
        f"passw, signature, cookie, credential or session read back as {MASK!r}; send that value back "
        "to keep the stored one.",
    )
    # Declared, so DRF adds no uniqueness check: a new default takes the flag from the old one.
    is_default = serializers.BooleanField(required=False, help_text="Bare model names go to the default.")
    key_count = serializers.IntegerField(read_only=True, required=False)
    managed_fields = serializers.DictField(
        source="field_sources",
        child=serializers.CharField(),
        read_only=True,
        help_text="Fields set by the environment or a TOML file (env/file): changing them is refused (409).",
    )

    class Meta:
        model = Provider
        fields = (
            "id",
            "name",
            "api_format",
            "family",
            "responses_api",
            "hosted_tools",
            "base_url",
            "api_version",
            "region",
            "project",
            "requires_key",
            "ambient_credentials",
            "timeout",
            "total_timeout",
            "max_retries",
            "custom_headers",
            "tool_name_sanitization",
            "passthrough",
            "models",
            "fallbacks",
            "middleware",
            "enabled",
            "is_default",
            "source",
            "managed_fields",
            "key_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "source", "created_at", "updated_at")

    def to_representation(self, instance: Provider) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["custom_headers"] = mask_headers(data.get("custom_headers") or {})
        return data

    def validate_total_timeout(self, seconds: float | None) -> float | None:
        if seconds is not None and seconds <= 0:
            raise serializers.ValidationError("must be a positive number of seconds, or null (defaults)")
        return seconds

    def validate_custom_headers(self, headers: dict[str, str]) -> dict[str, str]:
        """A masked value sent back means "keep the stored value" (clients never see it);
        the services seal what is kept and what is new."""
        stored = self.instance.sealed_headers if isinstance(self.instance, Provider) else {}
        unknown = headers_without_stored_value(headers, stored or {})
        if unknown:
            raise serializers.ValidationError(f"no stored value to keep for {', '.join(unknown)}")
        return headers


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    provider = serializers.SlugRelatedField(slug_field="name", queryset=Provider.objects.all())
    secret = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text="The upstream API key: required on create, optional on update (replaces it). "
        "Never returned: responses show fingerprint and last4.",
    )

    class Meta:
        model = ApiKey
        fields = (
            "id",
            "provider",
            "secret",
            "label",
            "enabled",
            "auto_disabled",
            "fingerprint",
            "last4",
            "source",
            "consecutive_failures",
            "last_failure_at",
            "last_failure_status",
            "last_failure_reason",
            "cooldown_until",
            "created_at",
            "updated_at",
        )
        read_only_fields = tuple(
            name for name in fields if name not in {"provider", "secret", "label", "enabled"}
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("secret"):
            raise serializers.ValidationError({"secret": "Enter the API key."})
        if self.instance is not None and "provider" in attrs and attrs["provider"] != self.instance.provider:
            raise serializers.ValidationError({"provider": "A key cannot move to another provider."})
        return attrs


class LoadResultSerializer(serializers.ModelSerializer[ProviderLoadResult]):
    class Meta:
        model = ProviderLoadResult
        fields = (
            "provider_name",
            "status",
            "message",
            "key_fingerprints",
            "base_url",
            "api_format",
            "sources",
            "loaded_at",
        )
        read_only_fields = fields
