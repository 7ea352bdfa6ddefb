"""What a proxied call cost: priced once, in ``ProxyCall.record``, from the snapshot's table.

The price table is in memory (``RoutingTable.prices``): a dict lookup and a few Decimal
products, about 20 µs, on the event loop. Pricing never fails a call: a table that
raises leaves the call unpriced and logs once per (provider, model).
"""

import logging
from decimal import Decimal

from pricing.costs import UNPRICED, Cost, PriceTable, TokenUsage
from routing.table import ProviderConfig
from routing.usage_event import UsageEvent

logger = logging.getLogger(__name__)

COST_HEADER = "x-vandamme-cost-usd"
TEN_PLACES = Decimal("1e-10")  # UsageRecord.cost_usd's decimal places
NOTHING = Cost(Decimal(0))  # a call that used no tokens (refused, failed before an answer)
_failed: set[tuple[str, str]] = set()


def call_cost(
    prices: PriceTable | None, provider: ProviderConfig | None, model: str, event: UsageEvent
) -> Cost:
    """The cost of ``event``'s tokens on ``model`` served by ``provider``."""
    usage = TokenUsage(
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cache_read_tokens=event.cached_tokens,
        cache_write_tokens=event.cache_write_tokens,
        reasoning_tokens=event.reasoning_tokens,
    )
    if not (usage.input_tokens or usage.output_tokens or usage.cache_read_tokens or usage.cache_write_tokens):
        return NOTHING  # nothing to charge: known to be 0, not unknown
    if prices is None or provider is None:
        return UNPRICED
    try:
        return prices.cost(provider, model, usage, event.created_at)
    except Exception as exc:  # a price list's bug must not fail the call it prices
        if (provider.name, model) not in _failed and len(_failed) < 1000:
            _failed.add((provider.name, model))
            failure = type(exc).__name__
            logger.warning("pricing %s:%s failed (%s): left unpriced", provider.name, model, failure)
        return UNPRICED


def price_event(event: UsageEvent, cost: Cost) -> None:
    """Set ``event``'s cost fields; the amount rounded to the column's 10 places, so the
    header, the access line, the metrics and the stored record say the same."""
    event.cost_usd = None if cost.usd is None else cost.usd.quantize(TEN_PLACES)
    event.unpriced = cost.unpriced
    event.price_version = cost.price_version[:100]


def cost_text(usd: Decimal | None) -> str:
    """A cost as headers and logs show it: plain digits (never ``1E-7``), or ``unpriced``."""
    return "unpriced" if usd is None else format(usd.normalize(), "f")
