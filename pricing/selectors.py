"""Reads of prices: the routing snapshot's price table."""

from pricing.genai import bundled_prices
from pricing.models import PriceOverride
from pricing.table import GatewayPrices, OverridePrice


def price_overrides_list() -> list[OverridePrice]:
    return [
        OverridePrice(
            override_id=row.pk,
            provider=row.provider,
            model=row.model,
            input=row.input,
            output=row.output,
            cache_read=row.cache_read,
            cache_write=row.cache_write,
            updated_at=row.updated_at,
        )
        for row in PriceOverride.objects.all()
    ]


def price_table_build() -> GatewayPrices:
    """Overrides (one query) over genai-prices' bundled data, loaded and warmed here the
    first time: a snapshot build runs in a thread, never on a request's event loop."""
    return GatewayPrices(price_overrides_list(), bundled_prices())
