"""A call's cost survives the way to the database: the batch write and the spool file
(a process that stopped with the database away) keep the exact Decimal."""

from decimal import Decimal
from pathlib import Path

import pytest

from routing import usage_spool, usage_writer
from routing.usage import UsageEvent
from teams.models import UsageRecord

COST = Decimal("0.0034875123")  # ten places, as the column keeps


def _event(cost: Decimal | None, *, unpriced: bool = False) -> UsageEvent:
    return UsageEvent(
        provider="anthropic",
        model_requested="sonnet",
        model_served="claude-sonnet-4-5",
        status=200,
        latency_ms=5,
        streamed=False,
        input_tokens=40,
        output_tokens=250,
        cached_tokens=8_000,
        cache_write_tokens=2_000,
        reasoning_tokens=100,
        cost_usd=cost,
        unpriced=unpriced,
        price_version="genai-prices 0.2.5",
    )


def test_the_json_round_trip_keeps_the_decimal() -> None:
    back = UsageEvent.from_json(_event(COST).as_json())
    assert back.cost_usd == COST
    assert isinstance(back.cost_usd, Decimal)
    assert (back.cache_write_tokens, back.reasoning_tokens) == (2_000, 100)
    unpriced = UsageEvent.from_json(_event(None, unpriced=True).as_json())
    assert unpriced.cost_usd is None
    assert unpriced.unpriced


@pytest.mark.django_db(transaction=True)
def test_spooled_records_replay_with_their_cost(settings: object, tmp_path: Path) -> None:
    settings.VANDAMME_USAGE_SPOOL_DIR = tmp_path  # type: ignore[attr-defined]
    usage_spool.spool([_event(COST), _event(None, unpriced=True)])

    usage_spool.replay(usage_writer.write_isolating, 100)

    priced, unpriced = UsageRecord.objects.order_by("id")
    assert priced.cost_usd == COST
    assert (priced.cache_write_tokens, priced.reasoning_tokens, priced.unpriced) == (2_000, 100, False)
    assert priced.price_version == "genai-prices 0.2.5"
    assert unpriced.cost_usd is None
    assert unpriced.unpriced


def test_a_cost_is_kept_to_the_columns_ten_places() -> None:
    from pricing.costs import Cost
    from routing.call_cost import price_event

    event = _event(None)
    price_event(event, Cost(Decimal("0.000000012345678"), "genai-prices 0.2.5"))
    assert event.cost_usd == Decimal("0.0000000123")
    assert not event.unpriced
    price_event(event, Cost(None))
    assert event.cost_usd is None
    assert event.unpriced


@pytest.mark.django_db
def test_usage_api_and_admin_show_the_cost(api: object, admin_client: object) -> None:
    from django.urls import reverse
    from django.utils import timezone

    now = timezone.now()
    UsageRecord.objects.create(
        provider="openai",
        model_requested="gpt-4o",
        model_served="gpt-4o",
        status=200,
        cost_usd=COST,
        created_at=now,
    )
    UsageRecord.objects.create(
        provider="local", model_requested="m", model_served="m", status=200, unpriced=True, created_at=now
    )
    rows = api.get("/api/usage/").json()["results"]  # type: ignore[attr-defined]
    by_provider = {row["provider"]: row for row in rows}
    assert by_provider["openai"]["cost_usd"] == str(COST)
    assert (by_provider["local"]["cost_usd"], by_provider["local"]["unpriced"]) == (None, True)
    page = admin_client.get(reverse("admin:teams_usagerecord_changelist")).content.decode()  # type: ignore[attr-defined]
    assert str(COST) in page
