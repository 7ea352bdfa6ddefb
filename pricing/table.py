"""The price table the routing snapshot carries: operators' overrides, then genai-prices.

Built with the snapshot (``routing.snapshot.build_routing_table``), so pricing a call
reads no database: a dict lookup for the (provider, model) pair, cached per table, and
a few Decimal products. An override (``pricing.models.PriceOverride``) wins over
genai-prices' data; a model neither knows is unpriced (cost None, never 0).

Which genai-prices provider a vandamme provider is follows its declared family, never
a guess at request time. An OpenAI-compatible API of unknown family is matched by its
base URL, then by the model name alone; one on this machine or a private network
(Ollama, vLLM, LM Studio) is unpriced unless overridden: its tokens cost what the
hardware costs, which no price list knows. Pure: no Django, no I/O.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from pricing.costs import UNPRICED, Cost, TokenUsage, UnitPrices
from pricing.genai import GENAI_PRICES_VERSION, PER_MILLION, GenaiPrices, Match
from providers.families import ProviderFamily
from routing.table import ProviderConfig

# The genai-prices provider ids a family's models are priced under, in order.
FAMILY_PROVIDERS: dict[ProviderFamily, tuple[str, ...]] = {
    ProviderFamily.OPENAI: ("openai",),
    # Azure OpenAI lists fewer models than OpenAI and bills the same per token.
    ProviderFamily.AZURE: ("azure", "openai"),
    ProviderFamily.ANTHROPIC: ("anthropic",),
    ProviderFamily.BEDROCK: ("aws",),
    # Vertex serves Gemini and Claude; genai-prices lists both under google.
    ProviderFamily.VERTEX: ("google",),
    ProviderFamily.GEMINI: ("google",),
    ProviderFamily.DEEPSEEK: ("deepseek",),
    ProviderFamily.OPENROUTER: ("openrouter",),
}
# Families with no price list of their own: found by base URL, then by model name. Poe
# is not among them (it bills in points per message, not per token) nor Ollama (local).
MATCHED_FAMILIES = frozenset({ProviderFamily.COMPATIBLE})
_LOCAL_HOSTS = frozenset({"localhost", "host.docker.internal", "ollama"})
_CACHE_LIMIT = 8192  # (provider, model) pairs remembered per table; model names come from clients


@dataclass(frozen=True, slots=True)
class OverridePrice:
    """An operator's price for a model (USD per million tokens); ``provider`` "" is any."""

    override_id: int
    provider: str
    model: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None  # None: billed as input
    cache_write: Decimal | None = None  # None: billed as input
    updated_at: datetime | None = None

    @property
    def version(self) -> str:
        stamp = self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.updated_at else ""
        return f"override #{self.override_id} {stamp}".strip()

    def cost(self, usage: TokenUsage) -> Decimal:
        read = self.input if self.cache_read is None else self.cache_read
        write = self.input if self.cache_write is None else self.cache_write
        return (
            self.input * usage.input_tokens
            + read * usage.cache_read_tokens
            + write * usage.cache_write_tokens
            + self.output * usage.output_tokens
        ) / PER_MILLION


def is_local(base_url: str) -> bool:
    """A base URL on this machine or a private network (a self-hosted model server)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in _LOCAL_HOSTS or host.endswith((".local", ".internal", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


class GatewayPrices:
    """``pricing.costs.PriceTable`` from overrides and genai-prices (None: overrides only)."""

    def __init__(self, overrides: Iterable[OverridePrice], genai: GenaiPrices | None) -> None:
        self._overrides = {(o.provider, o.model.lower()): o for o in overrides}
        self._genai = genai
        self._sources: dict[tuple[str, str], OverridePrice | Match | None] = {}

    def _source(self, provider: ProviderConfig, model: str) -> OverridePrice | Match | None:
        key = (provider.name, model)
        try:
            return self._sources[key]
        except KeyError:
            pass
        source = self._lookup(provider, model)
        if len(self._sources) < _CACHE_LIMIT:
            self._sources[key] = source
        return source

    def _lookup(self, provider: ProviderConfig, model: str) -> OverridePrice | Match | None:
        name = model.lower()
        override = self._overrides.get((provider.name, name)) or self._overrides.get(("", name))
        if override is not None or self._genai is None or not model:
            return override
        family = provider.family
        if family in FAMILY_PROVIDERS:
            return self._genai.find(FAMILY_PROVIDERS[family], None, model_only=False, model=model)
        if family in MATCHED_FAMILIES and not is_local(provider.base_url):
            return self._genai.find((), provider.base_url or None, model_only=True, model=model)
        return None  # Ollama, Poe, or a local server: no list knows what its tokens cost

    def cost(self, provider: ProviderConfig, model: str, usage: TokenUsage, at: datetime) -> Cost:
        source = self._source(provider, model)
        if source is None:
            return UNPRICED
        if isinstance(source, OverridePrice):
            return Cost(source.cost(usage), source.version)
        assert self._genai is not None  # noqa: S101  (a Match comes from it)
        prices = self._genai.token_prices(source, at)
        usd = prices.cost(usage) if prices is not None else self._genai.library_cost(source, usage, at)
        return Cost(usd, GENAI_PRICES_VERSION)

    def unit_prices(self, provider: ProviderConfig, model: str, at: datetime) -> UnitPrices | None:
        source = self._source(provider, model)
        if source is None:
            return None
        if isinstance(source, OverridePrice):
            return UnitPrices(source.input / PER_MILLION, source.output / PER_MILLION)
        assert self._genai is not None  # noqa: S101
        prices = self._genai.token_prices(source, at)
        if prices is None:
            return None
        return UnitPrices(*prices.per_token(0))
