"""Admin for aliases. Aliases set by the environment or a file are read-only here."""

from django.contrib import admin
from django.http import HttpRequest

from aliases.models import Alias
from audit.admin_hooks import AuditedAdmin
from providers.admin_lists import LinesFieldsAdmin


@admin.register(Alias)
class AliasAdmin(LinesFieldsAdmin, AuditedAdmin):
    lines_fields = ("fallbacks",)
    list_display = ("name", "target", "group", "scope", "is_pattern", "source")
    list_filter = ("provider", "source", "is_pattern")
    list_select_related = ("provider",)
    search_fields = ("name", "target")
    fields = ("name", "target", "targets", "strategy", "provider", "is_pattern", "fallbacks", "source")
    readonly_fields = ("source",)

    @admin.display(description="scope", ordering="provider__name")
    def scope(self, obj: Alias) -> str:
        return obj.provider.name if obj.provider is not None else "global"

    @admin.display(description="group")
    def group(self, obj: Alias) -> str:
        """How many targets, and the strategy, for a group; empty for a plain alias."""
        return f"{len(obj.targets)} targets, {obj.strategy}" if obj.targets else ""

    def get_readonly_fields(self, request: HttpRequest, obj: Alias | None = None) -> tuple[str, ...]:
        if obj is not None and obj.source != "admin":
            return self.fields  # the next load would override any edit
        return tuple(self.readonly_fields)
