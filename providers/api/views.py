"""REST endpoints for providers, their key pools and the last load's results."""

from typing import Any

from django.db.models import Count, QuerySet
from rest_framework import viewsets
from rest_framework.request import Request

from audit.viewsets import AuditedModelViewSet
from providers.api.serializers import ApiKeySerializer, LoadResultSerializer, ProviderSerializer
from providers.models import ApiKey, LoadStatus, Provider, ProviderLoadResult
from providers.services import (
    DuplicateKeyError,
    ManagedFieldError,
    api_key_create,
    api_key_delete,
    api_key_update,
    provider_create,
    provider_delete,
    provider_update,
)


class ProviderViewSet(AuditedModelViewSet[Provider]):
    """Upstream providers. Fields a load manages (``managed_fields``) cannot be changed here."""

    serializer_class = ProviderSerializer
    lookup_field = "name"
    conflict_errors = (ManagedFieldError,)

    def get_queryset(self) -> QuerySet[Provider]:
        providers = Provider.objects.annotate(key_count=Count("keys")).order_by("name")
        enabled = self.request.query_params.get("enabled")
        if enabled is not None:
            providers = providers.filter(enabled=enabled.lower() in {"1", "true", "yes"})
        return providers

    def create_object(self, data: dict[str, Any]) -> Provider:
        return provider_create(**data)

    def update_object(self, obj: Provider, data: dict[str, Any]) -> Provider:
        return provider_update(provider=obj, **data)

    def delete_object(self, obj: Provider) -> None:
        provider_delete(provider=obj)


class ApiKeyViewSet(AuditedModelViewSet[ApiKey]):
    """Upstream keys (``?provider=name`` filters). ``secret`` is write-only."""

    serializer_class = ApiKeySerializer
    conflict_errors = (ManagedFieldError, DuplicateKeyError)

    def get_queryset(self) -> QuerySet[ApiKey]:
        keys = ApiKey.objects.select_related("provider")
        provider = self.request.query_params.get("provider")
        return keys.filter(provider__name=provider) if provider else keys

    def create_object(self, data: dict[str, Any]) -> ApiKey:
        return api_key_create(**data)

    def update_object(self, obj: ApiKey, data: dict[str, Any]) -> ApiKey:
        data.pop("provider", None)
        return api_key_update(api_key=obj, **data)

    def delete_object(self, obj: ApiKey) -> None:
        api_key_delete(api_key=obj)


class LoadSummaryViewSet(viewsets.ReadOnlyModelViewSet[ProviderLoadResult]):
    """The last configuration load, per provider: active ones first (as the start-up table)."""

    serializer_class = LoadResultSerializer
    pagination_class = None
    lookup_field = "provider_name"

    def get_queryset(self) -> QuerySet[ProviderLoadResult]:
        return ProviderLoadResult.objects.all()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        response = super().list(request, *args, **kwargs)
        response.data = sorted(
            response.data, key=lambda r: (r["status"] == LoadStatus.INACTIVE, r["provider_name"])
        )
        return response
