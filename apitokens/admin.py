"""API tokens in the admin: listed masked, revocable; created with ``manage.py create_api_token``."""

from django.contrib import admin
from django.http import HttpRequest

from apitokens.models import ApiToken
from audit.admin_hooks import AuditedAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ("user", "masked", "label", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "label", "prefix")
    fields = ("user", "masked", "label", "created_at", "last_used_at")
    readonly_fields = ("user", "masked", "created_at", "last_used_at")

    @admin.display(description="token")
    def masked(self, obj: ApiToken) -> str:
        return obj.masked

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created by the command, which shows the plaintext once

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return "token_hash" not in lookup and super().lookup_allowed(lookup, value, request)
