"""What a call costs: the shapes the hot path and the limits share. Pure: no Django, no I/O.

A ``PriceTable`` lives in the routing snapshot (``RoutingTable.prices``), so pricing a
call reads no database. ``pricing.table`` builds the real one from genai-prices' data and
the operators' overrides; ``NO_PRICES`` prices nothing (a table built without prices).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from routing.table import ProviderConfig


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """A call's tokens as vandamme records them (Anthropic's meaning of input)."""

    input_tokens: int = 0  # neither read from nor written to the cache
    output_tokens: int = 0  # including reasoning
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0  # of output_tokens


@dataclass(frozen=True, slots=True)
class Cost:
    """``usd`` is None when the model has no known price (never 0 for "unknown")."""

    usd: Decimal | None
    price_version: str = ""

    @property
    def unpriced(self) -> bool:
        return self.usd is None


UNPRICED = Cost(None)


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """US dollars per token for a reservation's estimate (before the usage is known)."""

    input_usd: Decimal
    output_usd: Decimal


class PriceTable(Protocol):
    def cost(self, provider: ProviderConfig, model: str, usage: TokenUsage, at: datetime) -> Cost:
        """What ``usage`` of ``model`` served by ``provider`` cost at ``at``."""
        ...

    def unit_prices(self, provider: ProviderConfig, model: str, at: datetime) -> UnitPrices | None:
        """Per-token input and output prices, or None when the model has no known price."""
        ...


class NoPrices:
    """Prices nothing: every cost is unknown."""

    def cost(self, provider: ProviderConfig, model: str, usage: TokenUsage, at: datetime) -> Cost:
        return UNPRICED

    def unit_prices(self, provider: ProviderConfig, model: str, at: datetime) -> UnitPrices | None:
        return None


NO_PRICES: PriceTable = NoPrices()
