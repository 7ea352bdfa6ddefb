"""The audit log in the admin: read-only, filterable, searchable."""

import json

from django.contrib import admin
from django.utils.html import format_html

from audit.admin_hooks import ReadOnlyAdmin
from audit.models import AuditEntry


def _pretty(value: object) -> str:
    if value is None:
        return "-"
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_name", "source", "action", "object_type", "object_repr")
    list_filter = ("source", "action", "object_type", "created_at")
    search_fields = ("actor_name", "object_repr", "object_id", "message")
    date_hierarchy = "created_at"
    fields = (*AuditEntry.DESCRIPTION_FIELDS, "state_before", "state_after")
    readonly_fields = fields

    @admin.display(description="before")
    def state_before(self, obj: AuditEntry) -> str:
        return _pretty(obj.before)

    @admin.display(description="after")
    def state_after(self, obj: AuditEntry) -> str:
        return _pretty(obj.after)
