"""Our cost of a call equals ``genai_prices.calc_price`` for real models of every family,
with cache reads, cache writes and reasoning, across price tiers and price changes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from pricing.costs import TokenUsage
from pricing.genai import GENAI_PRICES_VERSION, bundled_prices
from pricing.table import GatewayPrices, OverridePrice
from providers.families import ApiFormat, ProviderFamily
from routing.table import ProviderConfig

AT = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def provider(
    family: ProviderFamily, base_url: str = "https://example.test/v1", name: str = ""
) -> ProviderConfig:
    return ProviderConfig(
        name=name or family.value,
        api_format=ApiFormat.OPENAI,
        base_url=base_url,
        api_version="",
        timeout=30,
        max_retries=0,
        custom_headers=(),
        tool_name_sanitization=False,
        passthrough=False,
        models=(),
        keys=(),
        family=family,
    )


# (family, model as the upstream is asked, genai-prices provider id)
MODELS = [
    (ProviderFamily.OPENAI, "gpt-4o", "openai"),
    (ProviderFamily.OPENAI, "gpt-4o-mini", "openai"),
    (ProviderFamily.OPENAI, "gpt-4.1", "openai"),
    (ProviderFamily.OPENAI, "o3", "openai"),
    (ProviderFamily.OPENAI, "o4-mini", "openai"),
    (ProviderFamily.OPENAI, "gpt-5", "openai"),
    (ProviderFamily.OPENAI, "gpt-5-mini", "openai"),
    (ProviderFamily.ANTHROPIC, "claude-sonnet-4-5", "anthropic"),
    (ProviderFamily.ANTHROPIC, "claude-sonnet-4-20250514", "anthropic"),
    (ProviderFamily.ANTHROPIC, "claude-opus-4-1", "anthropic"),
    (ProviderFamily.ANTHROPIC, "claude-3-5-haiku-latest", "anthropic"),
    (ProviderFamily.ANTHROPIC, "claude-haiku-4-5", "anthropic"),
    (ProviderFamily.GEMINI, "gemini-2.5-pro", "google"),
    (ProviderFamily.GEMINI, "gemini-2.5-flash", "google"),
    (ProviderFamily.GEMINI, "gemini-2.0-flash", "google"),
    (ProviderFamily.VERTEX, "claude-sonnet-4-5@20250929", "google"),
    (ProviderFamily.DEEPSEEK, "deepseek-chat", "deepseek"),
    (ProviderFamily.DEEPSEEK, "deepseek-reasoner", "deepseek"),
    (ProviderFamily.BEDROCK, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws"),
    (ProviderFamily.BEDROCK, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws"),
    (ProviderFamily.BEDROCK, "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws"),
    (ProviderFamily.BEDROCK, "amazon.nova-pro-v1:0", "aws"),
    (ProviderFamily.OPENROUTER, "anthropic/claude-sonnet-4.5", "openrouter"),
    (ProviderFamily.AZURE, "gpt-4.1-mini", "azure"),
]
USAGES = [
    TokenUsage(input_tokens=1200, output_tokens=350),
    TokenUsage(input_tokens=40, output_tokens=900, cache_read_tokens=30_000, reasoning_tokens=700),
    TokenUsage(input_tokens=15, output_tokens=20, cache_read_tokens=2_000, cache_write_tokens=12_000),
    # Past the long-context tiers (200k/272k input) some of these models have.
    TokenUsage(input_tokens=250_000, output_tokens=4_000, cache_read_tokens=40_000, cache_write_tokens=9_000),
    TokenUsage(),
]
prices = GatewayPrices((), bundled_prices())


def library_total(usage: TokenUsage, model: str, provider_id: str, at: datetime = AT) -> Decimal:
    genai_usage = Usage(
        input_tokens=usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    return calc_price(genai_usage, model, provider_id=provider_id, genai_request_timestamp=at).total_price


@pytest.mark.parametrize(("family", "model", "provider_id"), MODELS, ids=lambda v: str(v))
@pytest.mark.parametrize(
    "usage", USAGES, ids=["plain", "cache-read+reasoning", "cache-write", "tiered", "none"]
)
def test_cost_is_what_genai_prices_says(
    family: ProviderFamily, model: str, provider_id: str, usage: TokenUsage
) -> None:
    cost = prices.cost(provider(family), model, usage, AT)

    assert cost.usd == library_total(usage, model, provider_id)
    assert cost.price_version == GENAI_PRICES_VERSION
    assert not cost.unpriced


def test_the_models_cover_every_family_asked_for() -> None:
    ids = {provider_id for _, _, provider_id in MODELS}
    assert len(MODELS) >= 20
    assert {"openai", "anthropic", "google", "deepseek", "aws"} <= ids


def test_long_context_tier_costs_more_per_token_than_a_short_prompt() -> None:
    anthropic = provider(ProviderFamily.ANTHROPIC)
    short = prices.cost(anthropic, "claude-sonnet-4-5", TokenUsage(input_tokens=100_000), AT).usd
    long = prices.cost(anthropic, "claude-sonnet-4-5", TokenUsage(input_tokens=300_000), AT).usd
    assert short is not None
    assert long is not None
    assert long / 3 > short  # all tokens at the higher rate past 200k, as Anthropic bills


def test_time_conditional_prices_follow_the_call_time() -> None:
    """DeepSeek's off-peak discount (16:30-00:30 UTC) and price changes by date: each call
    is priced at its own time, as calc_price prices it."""
    deepseek = provider(ProviderFamily.DEEPSEEK)
    usage = TokenUsage(input_tokens=10_000, output_tokens=5_000, cache_read_tokens=1_000)
    times = [datetime(2025, month, 1, hour, 0, tzinfo=UTC) for month in (1, 6, 10) for hour in (3, 18)]
    totals = set()
    for at in times:
        cost = prices.cost(deepseek, "deepseek-chat", usage, at).usd
        assert cost == library_total(usage, "deepseek-chat", "deepseek", at)
        totals.add(cost)
    assert len(totals) > 1  # the data has conditional prices: the test can tell


def test_reasoning_tokens_are_billed_as_output_already_counted() -> None:
    openai = provider(ProviderFamily.OPENAI)
    without = prices.cost(openai, "o3", TokenUsage(input_tokens=100, output_tokens=1_000), AT)
    with_reasoning = prices.cost(
        openai, "o3", TokenUsage(input_tokens=100, output_tokens=1_000, reasoning_tokens=800), AT
    )
    assert with_reasoning.usd == without.usd  # reasoning is part of output_tokens


def test_unknown_and_local_models_are_unpriced() -> None:
    assert prices.cost(provider(ProviderFamily.OPENAI), "no-such-model-xyz", TokenUsage(1, 1), AT).unpriced
    assert prices.cost(provider(ProviderFamily.OLLAMA), "gpt-4o", TokenUsage(1, 1), AT).unpriced
    local = provider(ProviderFamily.COMPATIBLE, "http://127.0.0.1:8000/v1")
    assert prices.cost(local, "gpt-4o", TokenUsage(1, 1), AT).unpriced
    assert prices.unit_prices(local, "gpt-4o", AT) is None


def test_compatible_provider_is_matched_by_url_then_by_model_name() -> None:
    usage = TokenUsage(input_tokens=1_000, output_tokens=1_000)
    groq = provider(ProviderFamily.COMPATIBLE, "https://api.groq.com/openai/v1", name="groq")
    cost = prices.cost(groq, "llama-3.3-70b-versatile", usage, AT)
    assert cost.usd == library_total(usage, "llama-3.3-70b-versatile", "groq")
    elsewhere = provider(ProviderFamily.COMPATIBLE, "https://gateway.example.com/v1", name="mine")
    assert prices.cost(elsewhere, "gpt-4o", usage, AT).usd == library_total(usage, "gpt-4o", "openai")


def test_an_override_wins_over_genai_prices() -> None:
    override = OverridePrice(
        7,
        "openai",
        "GPT-4o",
        Decimal("1"),
        Decimal("2"),
        Decimal("0.5"),
        None,
        datetime(2026, 1, 2, tzinfo=UTC),
    )
    table = GatewayPrices([override], bundled_prices())
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=2_000_000)
    cost = table.cost(provider(ProviderFamily.OPENAI), "gpt-4o", usage, AT)
    assert cost.usd == Decimal(1 + 2 + 1)
    assert cost.price_version == "override #7 2026-01-02T00:00:00Z"
    # Another provider serving the same name is not overridden by a provider's row.
    other = table.cost(provider(ProviderFamily.AZURE, name="azure"), "gpt-4o", usage, AT)
    assert other.price_version == GENAI_PRICES_VERSION


def test_an_any_provider_override_prices_a_local_model() -> None:
    override = OverridePrice(3, "", "llama3.1:8b", Decimal("0.1"), Decimal("0.2"))
    table = GatewayPrices([override], bundled_prices())
    ollama = provider(ProviderFamily.OLLAMA, "http://localhost:11434/v1")
    usage = TokenUsage(input_tokens=500_000, output_tokens=500_000, cache_write_tokens=500_000)
    assert table.cost(ollama, "llama3.1:8b", usage, AT).usd == Decimal("0.2")
    unit = table.unit_prices(ollama, "llama3.1:8b", AT)
    assert unit is not None
    assert unit.output_usd == Decimal("0.0000002")


def test_unit_prices_are_per_token() -> None:
    unit = prices.unit_prices(provider(ProviderFamily.OPENAI), "gpt-4o", AT)
    assert unit is not None
    one_input = prices.cost(provider(ProviderFamily.OPENAI), "gpt-4o", TokenUsage(input_tokens=1), AT).usd
    assert unit.input_usd == one_input


@pytest.mark.parametrize(("family", "model", "provider_id"), MODELS, ids=lambda v: str(v))
def test_these_models_take_the_fast_path(family: ProviderFamily, model: str, provider_id: str) -> None:
    """The equality above is no tautology: these models are priced by our reduction of
    their prices, not by the library's calc (which would be ~0.5 ms a call)."""
    genai = bundled_prices()
    match = genai.find((provider_id,), None, model_only=False, model=model)
    assert match is not None
    assert genai.token_prices(match, AT) is not None


@pytest.mark.parametrize("provider_id", ["openai", "anthropic", "google", "deepseek", "aws", "openrouter"])
def test_every_model_of_a_provider_prices_as_the_library_does(provider_id: str) -> None:
    """The whole catalogue, not a sample: every model our reduction prices, at usages
    below and past the long-context tiers, equals calc_price."""
    from genai_prices.data_snapshot import get_snapshot

    genai = bundled_prices()
    [catalogue] = [p for p in get_snapshot().providers if p.id == provider_id]
    fast = 0
    for model in catalogue.models:
        match = genai.find((provider_id,), None, model_only=False, model=model.id)
        if match is None or match.model is not model:
            continue  # an id another model's pattern claims first: priced as that one
        reduced = genai.token_prices(match, AT)
        if reduced is None:
            continue
        fast += 1
        for usage in USAGES:
            assert reduced.cost(usage) == library_total(usage, model.id, provider_id), model.id
    assert fast >= len(catalogue.models) // 2


def test_poe_is_not_priced_as_the_model_makers_price() -> None:
    poe = provider(ProviderFamily.POE, "https://api.poe.com/v1", name="poe")
    assert prices.cost(poe, "gpt-4o", TokenUsage(input_tokens=10), AT).unpriced
