"""``/api/audit/``: the audit log, newest first, read-only."""

from django.db.models import QuerySet
from rest_framework import viewsets

from audit.api.serializers import AuditEntrySerializer
from audit.models import AuditEntry

# Query parameters that filter the log, and the field each one matches.
FILTERS = {
    "object_type": "object_type",
    "object_id": "object_id",
    "action": "action",
    "source": "source",
    "actor": "actor_name",
}


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet[AuditEntry]):
    """Filters: ``object_type`` (e.g. providers.provider), ``object_id``, ``action``,
    ``source`` (api/admin), ``actor`` (user name)."""

    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEntry]:
        entries = AuditEntry.objects.all()
        for parameter, field in FILTERS.items():
            value = self.request.query_params.get(parameter)
            if value:
                entries = entries.filter(**{field: value})
        return entries
