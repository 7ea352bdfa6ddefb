"""REST endpoints for aliases. Aliases set by the environment or a file are read-only."""

from typing import Any

from django.db.models import QuerySet

from aliases.api.serializers import AliasSerializer
from aliases.models import Alias
from aliases.services import alias_create, alias_delete, alias_update
from audit.viewsets import AuditedModelViewSet
from providers.services import ManagedFieldError


class AliasViewSet(AuditedModelViewSet[Alias]):
    """Model aliases (``?provider=name`` for one scope, ``?provider=`` for global ones)."""

    serializer_class = AliasSerializer
    conflict_errors = (ManagedFieldError,)

    def get_queryset(self) -> QuerySet[Alias]:
        aliases = Alias.objects.select_related("provider")
        provider = self.request.query_params.get("provider")
        if provider is None:
            return aliases
        return aliases.filter(provider__name=provider) if provider else aliases.filter(provider__isnull=True)

    def create_object(self, data: dict[str, Any]) -> Alias:
        return alias_create(**data)

    def update_object(self, obj: Alias, data: dict[str, Any]) -> Alias:
        return alias_update(alias=obj, **data)

    def delete_object(self, obj: Alias) -> None:
        alias_delete(alias=obj)
