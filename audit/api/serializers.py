"""The audit log in the REST API (read-only)."""

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = ("id", *AuditEntry.DESCRIPTION_FIELDS, "before", "after")
        read_only_fields = fields
