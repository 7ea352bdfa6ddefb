"""Admin for price overrides. Prices set by the environment or a file are read-only here."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin_hooks import AuditedAdmin
from pricing.models import PriceOverride
from providers.models import Source


@admin.register(PriceOverride)
class PriceOverrideAdmin(AuditedAdmin):
    """Form validation is the model's: a negative or non-numeric price, or a currency
    other than USD, is shown as an error on its field."""

    list_display = ("model", "scope", "input", "output", "cache_read", "cache_write", "source", "updated_at")
    list_filter = ("source", "provider")
    search_fields = ("model", "provider")
    fields = ("provider", "model", "input", "output", "cache_read", "cache_write", "currency", "source")
    readonly_fields = ("source",)

    @admin.display(description="provider", ordering="provider")
    def scope(self, obj: PriceOverride) -> str:
        return obj.provider or "any provider"

    def get_readonly_fields(self, request: HttpRequest, obj: PriceOverride | None = None) -> Any:
        if obj is not None and obj.source != Source.ADMIN:
            return self.fields  # the next load would override any edit
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: PriceOverride | None = None) -> bool:
        if obj is not None and obj.source != Source.ADMIN:
            return False  # the next load would bring it back: remove it from the configuration
        return super().has_delete_permission(request, obj)
