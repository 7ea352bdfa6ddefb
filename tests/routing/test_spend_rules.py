"""Money budgets, pure: which spend budgets a call meets, what it reserves, how a
refusal reads, and the dollar ↔ nano-dollar arithmetic."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pricing.costs import UnitPrices
from routing.limits.reservation import TokenEstimate, cost_nanos, spend_estimate, token_estimate
from routing.limits.rules import (
    MAX_NANOS,
    NANO_USD,
    TOKENS,
    CallLimits,
    Verdict,
    call_limits,
    refusal,
    usd_to_nanos,
)
from routing.limits.windows import budget_period
from routing.table import NO_RATE_LIMITS, SpendBudget, TeamConfig

NOW = datetime(2026, 12, 15, 10, 30, tzinfo=UTC).timestamp()
CORE = TeamConfig(
    "core",
    team_id=7,
    token_budget=1000,
    spend_budget=SpendBudget(Decimal("10.00"), "month", alert_percent=90),
)


def _limits(team: TeamConfig, key_spend: SpendBudget | None = None) -> CallLimits:
    return call_limits(
        team, key_id=3, key_prefix="vdm-abc", key_limits=NO_RATE_LIMITS, now=NOW, key_spend=key_spend
    )


def test_a_team_and_a_key_spend_budget_beside_the_token_budget() -> None:
    limits = _limits(CORE, SpendBudget(Decimal("2.5"), "day"))
    tokens, team, key = limits.budgets
    assert (tokens.unit, tokens.limit) == (TOKENS, 1000)
    assert (team.key, team.unit, team.limit, team.alert_at) == (
        "vdm:limits:{t7}:spend:month:2026-12-01",
        NANO_USD,
        10_000_000_000,
        9_000_000_000,  # 90 % of $10
    )
    assert (team.team_id, team.key_id, team.subject, team.team_name) == (7, None, "team 'core'", "core")
    assert (key.key, key.limit, key.alert_at, key.key_id) == (
        "vdm:limits:{t7}:key:3:spend:day:2026-12-15",  # the team's hash tag: one Redis slot
        2_500_000_000,
        2_000_000_000,  # keys alert at 80 %
        3,
    )
    assert key.subject == "gateway key vdm-abc…"
    assert limits.counts_tokens
    assert limits.counts_spend


def test_a_spend_budget_alone_counts_spend_not_tokens() -> None:
    limits = _limits(TeamConfig("core", team_id=7, spend_budget=SpendBudget(Decimal(1))))
    assert [budget.unit for budget in limits.budgets] == [NANO_USD]
    assert (limits.counts_tokens, limits.counts_spend, limits.settles) == (False, True, True)


def test_no_team_no_limits_whatever_the_key_budget() -> None:
    limits = call_limits(
        None,
        key_id=None,
        key_prefix=None,
        key_limits=NO_RATE_LIMITS,
        now=NOW,
        key_spend=SpendBudget(Decimal(1)),
    )
    assert not limits


def test_budget_dollars_become_whole_nano_dollars() -> None:
    assert usd_to_nanos(Decimal("10.0001")) == 10_000_100_000
    assert usd_to_nanos(Decimal(0)) == 0
    assert usd_to_nanos(Decimal("9999999999.9999")) == MAX_NANOS  # the column's largest: held, not wrapped


@pytest.mark.parametrize(
    ("cost", "nanos"),
    [
        (None, 0),  # unpriced: nothing charged
        (Decimal("0.0000000004"), 0),  # rounded to the nearest nano-dollar
        (Decimal("0.0000000006"), 1),
        (Decimal("0.0183600000"), 18_360_000),
        (Decimal("-1"), 0),
        (Decimal("NaN"), 0),
    ],
)
def test_a_recorded_cost_in_nano_dollars(cost: Decimal | None, nanos: int) -> None:
    assert cost_nanos(cost) == nanos


SONNET = UnitPrices(input_usd=Decimal("0.000003"), output_usd=Decimal("0.000015"))  # $3 / $15 per M


def test_the_spend_estimate_prices_the_token_estimate() -> None:
    estimate = token_estimate(4000, {"max_tokens": 100_000})
    assert estimate == TokenEstimate(1000, 4096)  # the output part is the capped share of max_tokens
    assert spend_estimate(estimate, SONNET) == 1000 * 3000 + 4096 * 15_000


def test_the_spend_estimate_rounds_up_and_an_unpriced_model_reserves_nothing() -> None:
    tiny = UnitPrices(input_usd=Decimal("0.0000000001"), output_usd=Decimal(0))  # $0.0001 per M
    assert spend_estimate(TokenEstimate(3, 0), tiny) == 1  # 0.3 nano-dollars: a reservation errs up
    assert spend_estimate(TokenEstimate(1000, 4096), None) == 0


def test_a_spend_refusal_names_the_budget_and_its_reset() -> None:
    limits = _limits(CORE)
    period = budget_period(NOW, "month")
    refused = refusal(limits, Verdict(admitted=False, full_budgets=((1, 10_020_000_000),)), NOW)
    assert refused.message == (
        "rate limit exceeded: team 'core' has spent $10.02 of its $10.00 budget per month "
        f"(the budget resets at 2027-01-01 00:00 UTC); retry in {refused.retry_after} s"
    )
    assert refused.retry_after == int(period.end - NOW)


def test_a_budget_under_a_dollar_reads_to_a_hundredth_of_a_cent() -> None:
    team = TeamConfig("lab", team_id=8, spend_budget=SpendBudget(Decimal("0.005"), "day"))
    refused = refusal(_limits(team), Verdict(admitted=False, full_budgets=((0, 5_120_000),)), NOW)
    assert "team 'lab' has spent $0.0051 of its $0.0050 budget per day" in refused.message
    assert "resets at 2026-12-16 00:00 UTC" in refused.message


def test_the_longest_wait_names_the_refusal_when_key_and_team_are_both_spent() -> None:
    limits = _limits(CORE, SpendBudget(Decimal(1), "day"))
    verdict = Verdict(admitted=False, full_budgets=((1, 10**10), (2, 10**9)))
    assert "team 'core' has spent $10.00" in refusal(limits, verdict, NOW).message  # month > day
