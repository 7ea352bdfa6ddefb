"""genai-prices' price data, looked up once per (provider, model) and applied in microseconds.

``genai_prices.calc_price`` costs about 0.5 ms a call (a provider search, then a generic
unit registry walk); a gateway prices every request on its event loop. Here the model
lookup is cached (misses too, bounded), and a model's price for the moment of the call
(``ModelInfo.get_prices``: time-conditional prices) is reduced once to the four token
prices vandamme reports, tiers included. The arithmetic is the library's: price × count
/ 1,000,000 per unit, the tier chosen by the total input tokens (``total > tier.start``),
so the result equals ``calc_price``'s to the last digit (tests/pricing compare both).
A price with any unit this cannot reduce (per-request fees, characters, audio seconds)
is computed by the library itself, which is slower but exact.

Never fetches: the data is the snapshot bundled in the installed package
(``genai_prices.UpdatePrices`` would download newer data in a thread; nothing starts it).
No Django, no I/O.
"""

import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from genai_prices import types as gp
from genai_prices.data_snapshot import get_snapshot

from pricing.costs import TokenUsage

# The package version names the data: the bundled snapshot's own ``timestamp`` is the
# moment it was loaded into this process, which says nothing about the prices.
GENAI_PRICES_VERSION = f"genai-prices {version('genai-prices')}"
PER_MILLION = 1_000_000
# The token prices vandamme's usage fills (genai-prices' price keys).
TOKEN_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
# Priced units whose usage vandamme never reports (audio, images, searches, the 1-hour
# cache split): genai-prices counts them as 0 for our usage, so they add nothing.
_ZERO_UNIT_FAMILIES = frozenset({"tokens", "tool_calls"})
_MISS_CACHE_LIMIT = 4096  # model names come from clients: misses must not grow without end

Price = Decimal | gp.TieredPrices
# A price as applied: the base rate, and the tiers highest first as (start, rate) — a
# prompt of more than ``start`` input tokens pays ``rate`` for every token of the unit.
Rate = tuple[Decimal, tuple[tuple[int, Decimal], ...]]
_ZERO = Decimal(0)


def _rate(price: Price) -> Rate:
    if isinstance(price, gp.TieredPrices):
        return price.base, tuple((tier.start, tier.price) for tier in reversed(price.tiers))
    return price, ()


def _at(rate: Rate, total_input: int) -> Decimal:
    """``genai_prices.types.calc_unit_price``'s choice of tier."""
    for start, price in rate[1]:
        if total_input > start:
            return price
    return rate[0]


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """A model's per-million-token prices for one moment (a price None is not charged
    separately: those tokens are billed as plain input, as genai-prices does)."""

    input: Rate | None
    output: Rate | None
    cache_read: Rate | None
    cache_write: Rate | None

    def cost(self, usage: TokenUsage) -> Decimal:
        """genai-prices' total for ``usage`` (its input counts cache reads and writes).

        Summed per million, then divided once: every product (a price of a few digits
        times a token count) and the sum are exact in Decimal's 28 digits, and so is the
        division by 10**6, so this equals the library's divide-then-sum to the digit."""
        total_input = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        plain_input = total_input
        total = _ZERO
        if self.cache_read is not None:
            plain_input -= usage.cache_read_tokens
            total += _at(self.cache_read, total_input) * usage.cache_read_tokens
        if self.cache_write is not None:
            plain_input -= usage.cache_write_tokens
            total += _at(self.cache_write, total_input) * usage.cache_write_tokens
        if self.input is not None:
            total += _at(self.input, total_input) * plain_input
        if self.output is not None:
            total += _at(self.output, total_input) * usage.output_tokens
        return total / PER_MILLION

    def per_token(self, total_input: int) -> tuple[Decimal, Decimal]:
        """Input and output USD per token at a prompt of ``total_input`` tokens."""
        return (
            _at(self.input, total_input) / PER_MILLION if self.input is not None else _ZERO,
            _at(self.output, total_input) / PER_MILLION if self.output is not None else _ZERO,
        )


def _reduced(model_price: gp.ModelPrice) -> TokenPrices | None:
    """The four token prices of ``model_price``, or None when it prices a unit our usage
    would make non-zero beyond them (a per-request fee, characters …)."""
    from genai_prices.units import _get_registry  # the library's own unit table

    registry = _get_registry()
    for key, value in model_price.__dict__.items():
        if value is None or key.startswith("_") or key in TOKEN_KEYS:
            continue
        try:
            unit = registry.unit_for_price_key(key)
        except KeyError:
            return None
        if unit.dimensions.get("family") not in _ZERO_UNIT_FAMILIES:
            return None
        if unit.usage_key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            return None
    prices = [getattr(model_price, key) for key in TOKEN_KEYS]
    if not all(price is None or isinstance(price, Decimal | gp.TieredPrices) for price in prices):
        return None
    return TokenPrices(*(None if price is None else _rate(price) for price in prices))


@dataclass(frozen=True, slots=True)
class Match:
    """A model genai-prices knows, as found for one (provider, model name)."""

    provider: gp.Provider
    model: gp.ModelInfo


class GenaiPrices:
    """Lookups and reduced prices over the bundled data snapshot; one per process."""

    def __init__(self) -> None:
        self._snapshot = get_snapshot()
        self._matches: dict[tuple[tuple[str, ...], str | None, bool, str], Match | None] = {}
        self._misses = 0
        # id(ModelPrice) -> (the object, kept alive so the id stays its own; its reduction)
        self._reduced: dict[int, tuple[gp.ModelPrice, TokenPrices | None]] = {}

    def warm(self) -> None:
        """Load the data and the unit table now (~0.5 s once), not on a first request."""
        self.find(("openai",), None, model_only=False, model="gpt-4o")
        match = self.find(("anthropic",), None, model_only=False, model="claude-sonnet-4-5")
        if match is not None:
            self.token_prices(match, datetime.now().astimezone())

    def find(
        self, provider_ids: tuple[str, ...], api_url: str | None, *, model_only: bool, model: str
    ) -> Match | None:
        """The model under the first of ``provider_ids`` that has it, else under the
        provider whose API ``api_url`` is, else (``model_only``) under whichever provider
        genai-prices matches the name to."""
        key = (provider_ids, api_url, model_only, model)
        if key in self._matches:
            return self._matches[key]
        match = self._search(provider_ids, api_url, model_only=model_only, model=model)
        if match is not None or self._misses < _MISS_CACHE_LIMIT:
            self._misses += match is None
            self._matches[key] = match
        return match

    def _search(
        self, provider_ids: tuple[str, ...], api_url: str | None, *, model_only: bool, model: str
    ) -> Match | None:
        attempts: list[tuple[str | None, str | None]] = [(provider_id, None) for provider_id in provider_ids]
        if api_url:
            attempts.append((None, api_url))
        if model_only:
            attempts.append((None, None))
        for provider_id, url in attempts:
            try:
                provider, info = self._snapshot.find_provider_model(model, None, provider_id, url)
            except LookupError:
                continue
            return Match(provider, info)
        return None

    def token_prices(self, match: Match, at: datetime) -> TokenPrices | None:
        """The reduced prices in force at ``at``; None: only the library can price it."""
        model_price = match.model.get_prices(at)
        held = self._reduced.get(id(model_price))
        if held is None or held[0] is not model_price:
            held = self._reduced[id(model_price)] = (model_price, _reduced(model_price))
        return held[1]

    def library_cost(self, match: Match, usage: TokenUsage, at: datetime) -> Decimal:
        """The library's own calculation (the slow, general path)."""
        calculation = match.model.calc_price(genai_usage(usage), match.provider, genai_request_timestamp=at)
        return calculation.total_price


def genai_usage(usage: TokenUsage) -> Any:
    """``usage`` in genai-prices' terms: its input counts cache reads and writes too."""
    from genai_prices import Usage

    return Usage(
        input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )


_bundled: GenaiPrices | None = None
_loading = threading.Lock()


def bundled_prices() -> GenaiPrices:
    """The process's genai-prices lookups, loaded and warmed once (~0.5 s): by
    ``warm_in_background`` at start-up, else by the first snapshot build (in a thread,
    never on the event loop)."""
    global _bundled
    if _bundled is None:
        with _loading:
            if _bundled is None:
                prices = GenaiPrices()
                prices.warm()
                _bundled = prices
    return _bundled


def warm_in_background() -> None:
    """Load the data in a daemon thread now, so that no request's snapshot build waits."""
    threading.Thread(target=bundled_prices, name="genai-prices-warm", daemon=True).start()
