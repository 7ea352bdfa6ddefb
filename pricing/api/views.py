"""REST endpoints for price overrides. Prices set by the environment or a file are read-only."""

from typing import Any

from django.db.models import QuerySet

from audit.viewsets import AuditedModelViewSet
from pricing.api.serializers import PriceOverrideSerializer
from pricing.models import PriceOverride
from pricing.services import price_override_create, price_override_delete, price_override_update
from providers.services import ManagedFieldError


class PriceOverrideViewSet(AuditedModelViewSet[PriceOverride]):
    """Model prices that win over genai-prices (``?provider=name``; ``?provider=`` for
    any-provider ones). USD per million tokens."""

    serializer_class = PriceOverrideSerializer
    conflict_errors = (ManagedFieldError,)

    def get_queryset(self) -> QuerySet[PriceOverride]:
        prices = PriceOverride.objects.all()
        provider = self.request.query_params.get("provider")
        return prices if provider is None else prices.filter(provider=provider)

    def create_object(self, data: dict[str, Any]) -> PriceOverride:
        return price_override_create(**data)

    def update_object(self, obj: PriceOverride, data: dict[str, Any]) -> PriceOverride:
        return price_override_update(override=obj, **data)

    def delete_object(self, obj: PriceOverride) -> None:
        price_override_delete(override=obj)
