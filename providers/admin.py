"""Admin for providers and their key pools. Secrets are write-only; every write of a key
goes through ``providers.services`` so the encryption invariant always holds."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from audit.admin_hooks import AuditedAdmin, ReadOnlyAdmin
from audit.masking import mask_headers
from providers.admin_lists import LinesFieldsAdmin
from providers.forms import ApiKeyForm, ApiKeyInlineFormSet, ProviderForm
from providers.models import ApiKey, Provider, ProviderLoadResult, Source
from providers.services import (
    DuplicateKeyError,
    api_key_create,
    api_key_replace_secret,
    api_keys_set_enabled,
    provider_set_default,
    providers_set_enabled,
)

sensitive_secret = method_decorator(
    sensitive_post_parameters("secret", "custom_headers", *(f"keys-{i}-secret" for i in range(50)))
)
MANAGED_TITLE = "Managed by env/TOML"
MASKED_HEADERS = "masked_custom_headers"
MANAGED_NOTE = (
    "Set by the environment or a TOML file, so read-only here: the next load would set them "
    "again. Change them where they are set."
)
KEY_STATE_FIELDS = (
    "masked",
    "source",
    "auto_disabled",
    "consecutive_failures",
    "last_failure_status",
    "last_failure_at",
    "cooldown_until",
)
# The provider page's key table: the failure state in one column, so it fits a 1366 px screen.
INLINE_KEY_STATE_FIELDS = ("masked", "source", "health")


def _save_key(form: ApiKeyForm, provider: Provider) -> ApiKey | None:
    """Create or update one key from a validated form; returns None for a blank new row."""
    secret = form.cleaned_data.get("secret") or ""
    instance: ApiKey = form.instance
    label, enabled = form.cleaned_data.get("label", ""), form.cleaned_data.get("enabled", True)
    if not instance.pk:
        return (
            api_key_create(provider=provider, secret=secret, label=label, enabled=enabled) if secret else None
        )
    if secret:
        api_key_replace_secret(api_key=instance, secret=secret)
    if enabled != ApiKey.objects.filter(pk=instance.pk).values_list("enabled", flat=True).first():
        api_keys_set_enabled(keys=[instance], enabled=enabled)  # re-enabling clears the failure streak
    instance.label = label
    instance.save(update_fields=["label", "updated_at"])
    return instance


class SecretSafeAdmin(AuditedAdmin):
    """Keeps secrets out of error reports and refuses filtering on ciphertext; audited."""

    @sensitive_secret
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().change_view(request, object_id, form_url, extra_context)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        sealed = "ciphertext" in lookup or "sealed_headers" in lookup
        return not sealed and super().lookup_allowed(lookup, value, request)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    form = ApiKeyForm
    formset = ApiKeyInlineFormSet
    extra = 1
    fields = ("secret", "label", "enabled", *INLINE_KEY_STATE_FIELDS)
    readonly_fields = INLINE_KEY_STATE_FIELDS

    @admin.display(description="key")
    def masked(self, obj: ApiKey) -> str:
        return obj.masked if obj.pk else "-"

    @admin.display(description="health")
    def health(self, obj: ApiKey) -> str:
        return key_health(obj) if obj.pk else "-"


def key_health(key: ApiKey) -> str:
    """The key's failure state in a few words (the API keys page has each field apart)."""
    if key.auto_disabled:
        state = "auto-disabled"
    elif key.cooldown_until is not None and key.cooldown_until > timezone.now():
        state = f"cooling down until {key.cooldown_until:%Y-%m-%d %H:%M} UTC"
    else:
        state = "ok"
    if not key.consecutive_failures:
        return state
    last = f", last {key.last_failure_status}" if key.last_failure_status else ""
    return f"{state} ({key.consecutive_failures} failures in a row{last})"


@admin.register(Provider)
class ProviderAdmin(LinesFieldsAdmin, SecretSafeAdmin):
    lines_fields = ("models_list", "fallbacks")
    list_display = (
        "name",
        "api_format",
        "family",
        "responses_api",
        "base_url",
        "enabled",
        "is_default",
        "source",
        "key_count",
        "load_status",
    )
    list_filter = ("api_format", "family", "enabled", "source")
    search_fields = ("name",)
    form = ProviderForm
    inlines = (ApiKeyInline,)
    actions = ("enable", "disable", "make_default")
    readonly_fields = ("source", "managed_fields", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Provider]:
        statuses = ProviderLoadResult.objects.filter(provider_name=OuterRef("name")).values("status")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(key_total=Count("keys"), last_load_status=Subquery(statuses))
        )

    @admin.display(description="keys", ordering="key_total")
    def key_count(self, obj: Provider) -> int:
        return int(getattr(obj, "key_total", 0))

    @admin.display(description="last load")
    def load_status(self, obj: Provider) -> str:
        return str(getattr(obj, "last_load_status", None) or "-")

    @admin.display(description="set by the environment or a file (read-only here)")
    def managed_fields(self, obj: Provider) -> str:
        if not obj.field_sources:
            return "nothing: every field is edited here"
        # A field no layer names (passthrough without keys) is still set by the load: the row's source.
        return format_html_join(
            ", ",
            "{} ({})",
            sorted(
                (name.replace("_list", ""), source or obj.source)
                for name, source in obj.field_sources.items()
            ),
        )

    @admin.display(description="custom headers")
    def masked_custom_headers(self, obj: Provider) -> str:
        # The shown form (providers.headers), masked again: never the sealed values.
        return json.dumps(mask_headers(obj.custom_headers or {}), ensure_ascii=False)

    def _managed_names(self, obj: Provider | None) -> list[str]:
        """The managed fields as this page names them (custom headers by their masked view)."""
        names = obj.managed_fields() if obj else []
        return [MASKED_HEADERS if name == "custom_headers" else name for name in names]

    def get_readonly_fields(self, request: HttpRequest, obj: Provider | None = None) -> tuple[str, ...]:
        # The API's rule (Provider.managed_fields): an edit here would be undone by the next load.
        return (*self.readonly_fields, *self._managed_names(obj))

    def get_exclude(self, request: HttpRequest, obj: Provider | None = None) -> tuple[str, ...]:
        # Managed headers are shown by their masked view only, never as a form field.
        managed_headers = obj is not None and obj.is_field_managed("custom_headers")
        return ("custom_headers",) if managed_headers else ()

    def has_delete_permission(self, request: HttpRequest, obj: Provider | None = None) -> bool:
        # As the API: a loaded provider would come back with the next load.
        if obj is not None and obj.source != Source.ADMIN:
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Provider | None = None) -> Any:
        """The managed fields apart, under a note that says why they are read-only."""
        fieldsets = super().get_fieldsets(request, obj)
        managed = set(self._managed_names(obj))
        if not managed:
            return fieldsets
        names = [str(name) for name in fieldsets[0][1]["fields"]]
        position = {field.name: index for index, field in enumerate(Provider._meta.fields)}
        position[MASKED_HEADERS] = position["custom_headers"]
        in_model_order = sorted((name for name in names if name in managed), key=lambda n: position.get(n, 0))
        return [
            (None, {"fields": [name for name in names if name not in managed]}),
            (MANAGED_TITLE, {"fields": in_model_order, "description": MANAGED_NOTE}),
        ]

    @sensitive_secret
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().add_view(request, form_url, extra_context)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model is not ApiKey:
            super().save_formset(request, form, formset, change)
            return
        # The admin's history message reads these, as after BaseModelFormSet.save().
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for key_form in formset.forms:
            if not key_form.has_changed() and key_form.instance.pk is None:
                continue
            if key_form.cleaned_data.get("DELETE") and key_form.instance.pk:
                key_form.instance.delete()
                formset.deleted_objects.append(key_form.instance)
                continue
            try:
                saved = _save_key(key_form, form.instance)
            except DuplicateKeyError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            if saved is not None and key_form.instance.pk is None:
                formset.new_objects.append(saved)
            elif saved is not None and key_form.has_changed():
                formset.changed_objects.append((saved, key_form.changed_data))

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Provider], enabled: bool) -> None:
        providers, state = list(queryset), "enabled" if enabled else "disabled"
        self.run_audited(
            request, providers, state, lambda p: providers_set_enabled(providers=p, enabled=enabled)
        )
        self.message_user(request, f"{len(providers)} {state}")

    @admin.action(description="Enable selected providers")
    def enable(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected providers")
    def disable(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(description="Make the default provider (bare model names go here)")
    def make_default(self, request: HttpRequest, queryset: QuerySet[Provider]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one provider.", messages.ERROR)
            return
        provider = queryset.get()
        self.run_audited(
            request, [provider], "made the default provider", lambda p: provider_set_default(provider=p[0])
        )
        self.message_user(request, f"{provider.name} is now the default provider")


@admin.register(ApiKey)
class ApiKeyAdmin(SecretSafeAdmin):
    """Keys are added on their provider's page; here they are listed, relabelled, toggled."""

    form = ApiKeyForm
    list_display = ("provider", "masked", "label", "enabled", "source", *KEY_STATE_FIELDS[2:])
    list_filter = ("provider", "enabled", "source")
    list_select_related = ("provider",)
    search_fields = ("fingerprint", "label", "provider__name")
    readonly_fields = ("provider", "masked", "fingerprint", *KEY_STATE_FIELDS[1:], "created_at", "updated_at")
    actions = ("enable", "disable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="key")
    def masked(self, obj: ApiKey) -> str:
        return obj.masked

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ApiKeyForm, change: bool) -> None:
        try:
            _save_key(form, obj.provider)
        except DuplicateKeyError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[ApiKey], enabled: bool) -> None:
        keys, state = list(queryset.select_related("provider")), "enabled" if enabled else "disabled"
        self.run_audited(request, keys, state, lambda k: api_keys_set_enabled(keys=k, enabled=enabled))
        self.message_user(request, f"{len(keys)} {state}")

    @admin.action(description="Enable selected keys (clears their failure state)")
    def enable(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected keys")
    def disable(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._set_enabled(request, queryset, False)


@admin.register(ProviderLoadResult)
class ProviderLoadResultAdmin(ReadOnlyAdmin):
    """The last configuration load, per provider (read-only)."""

    list_display = ("provider_name", "status", "api_format", "base_url", "keys", "message", "loaded_at")
    list_filter = ("status", "api_format")
    search_fields = ("provider_name",)

    @admin.display(description="key fingerprints")
    def keys(self, obj: ProviderLoadResult) -> str:
        return ", ".join(obj.key_fingerprints) or "-"
