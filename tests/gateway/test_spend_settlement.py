"""Money budgets settled on what calls really cost (helper A's pricing in
``ProxyCall.record``, from the snapshot's price table; a fake one here): sequential calls
stop at the budget, a call that fell back is charged at the fallback's prices, and the
soft threshold is logged once."""

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal

import anthropic
import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from pricing.costs import Cost, PriceTable, TokenUsage, UnitPrices
from routing import snapshot
from routing.table import ProviderConfig
from teams.models import Team
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE, make_provider
from tests.gateway.test_spend_budgets import REPLY, FakePrices, _anthropic

pytestmark = pytest.mark.usefixtures("providers")
MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
PRIMARY_BASE = "http://primary.upstream.test/v1"
BACKUP_BASE = "http://backup.upstream.test/v1"


@pytest.fixture
def prices(monkeypatch: pytest.MonkeyPatch) -> Callable[[PriceTable], None]:
    """Puts a price table into the snapshot (as helper A's loader does the real one)."""
    real_build = snapshot.build_routing_table

    def install(table: PriceTable) -> None:
        monkeypatch.setattr(
            snapshot, "build_routing_table", lambda: dataclasses.replace(real_build(), prices=table)
        )
        snapshot.routing_snapshot.clear()

    return install


@pytest.fixture
def respx_mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


def _team(**fields: object) -> str:
    return gateway_key_create(team=Team.objects.create(name="core", **fields))[1]


async def _ask(key: str, model: str = "gpt-4o") -> str:
    """ "ok", or the refusal's message."""
    async with _anthropic(key) as sdk:
        try:
            await sdk.messages.create(model=model, max_tokens=5, messages=MESSAGES)
        except anthropic.RateLimitError as refused:
            return str(refused.body["error"]["message"])  # type: ignore[index]
    return "ok"


async def test_sequential_calls_stop_at_the_budget_on_their_real_cost(
    respx_mock: respx.MockRouter, prices: Callable[[PriceTable], None], caplog: pytest.LogCaptureFixture
) -> None:
    prices(FakePrices(input_usd="0.01", output_usd="0.01"))  # 12 + 3 tokens a call: $0.15
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = lambda request: httpx.Response(200, json=REPLY)
    key = await sync_to_async(_team)(spend_budget_usd=Decimal("0.40"), spend_alert_percent=50)
    with caplog.at_level(logging.WARNING, logger="routing.limits.alerts"):
        answers = [await _ask(key) for _ in range(5)]
    assert answers[:3] == ["ok"] * 3  # $0, $0.15, $0.30 spent before each: under $0.40
    assert answers[3].startswith("rate limit exceeded: team 'core' has spent $0.4500 of its $0.4000 budget")
    assert answers[4] == answers[3]
    assert route.call_count == 3
    alerts = [r.getMessage() for r in caplog.records if r.name == "routing.limits.alerts"]
    assert len(alerts) == 1  # at $0.30 (50 %), not again at $0.45
    assert "has spent $0.3000 of its $0.4000 budget per month" in alerts[0]


class TwoPrices:
    """``primary`` costs $0.01 a token, ``backup`` $0.001."""

    def _units(self, provider: ProviderConfig) -> UnitPrices:
        each = Decimal("0.01") if provider.name == "primary" else Decimal("0.001")
        return UnitPrices(each, each)

    def unit_prices(self, provider: ProviderConfig, model: str, at: datetime) -> UnitPrices:
        return self._units(provider)

    def cost(self, provider: ProviderConfig, model: str, usage: TokenUsage, at: datetime) -> Cost:
        units = self._units(provider)
        return Cost(usage.input_tokens * units.input_usd + usage.output_tokens * units.output_usd, "two")


async def test_a_call_that_fell_back_is_charged_what_the_fallback_cost(
    respx_mock: respx.MockRouter, prices: Callable[[PriceTable], None]
) -> None:
    for name, base in (("primary", PRIMARY_BASE), ("backup", BACKUP_BASE)):
        fallbacks = ["backup:cheap"] if name == "primary" else []
        await sync_to_async(make_provider)(
            name,
            base_url=base,
            keys=(f"sk-test-{name}-key-hhhhhhhhhhhh",),
            max_retries=0,
            fallbacks=fallbacks,
        )
    respx_mock.post(f"{PRIMARY_BASE}/chat/completions").respond(503, json={"error": {"message": "busy"}})
    backup = respx_mock.post(f"{BACKUP_BASE}/chat/completions").respond(json=REPLY)
    prices(TwoPrices())
    key = await sync_to_async(_team)(spend_budget_usd=Decimal("0.02"))
    # Reserved at primary's prices (~$0.30: over the budget for a second call at once),
    # settled at backup's: 15 tokens at $0.001 = $0.015, so a second call still goes.
    assert await _ask(key, "primary:m") == "ok"
    assert await _ask(key, "primary:m") == "ok"
    refused = await _ask(key, "primary:m")
    assert refused.startswith("rate limit exceeded: team 'core' has spent $0.0300 of its $0.0200 budget")
    assert backup.call_count == 2
