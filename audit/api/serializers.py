"""The audit log in the REST API (read-only)."""

from rest_framework import serializers

from audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "created_at",
            "actor_name",
            "source",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "message",
            "before",
            "after",
        )
        read_only_fields = fields
