"""Limit maths, pure and table-driven: rolling windows, calendar periods, which limits a
call meets and how a refusal reads."""

from datetime import UTC, datetime

import pytest

from routing.limits.rules import (
    NO_LIMITS,
    REQUESTS,
    TOKENS,
    BudgetLimit,
    CallLimits,
    Verdict,
    WindowLimit,
    call_limits,
    refusal,
)
from routing.limits.windows import (
    bucket_at,
    budget_period,
    excess,
    in_window,
    live_buckets,
    retry_after_header,
    seconds_until_freed,
    window_total,
)
from routing.table import NO_RATE_LIMITS, RateLimits, TeamConfig


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("bucket", "current", "counted"),
    [
        (100, 100, True),  # this second
        (41, 100, True),  # 59 s ago: the oldest bucket still in the window
        (40, 100, False),  # 60 s ago: gone
        (101, 100, True),  # another process's clock runs ahead: still counted
    ],
)
def test_in_window(bucket: int, current: int, counted: bool) -> None:
    assert in_window(bucket, current) is counted


def test_window_total_and_live_buckets_ignore_what_has_left() -> None:
    buckets = {30: 5, 41: 2, 99: 1, 100: 3}
    assert window_total(buckets, 100) == 6
    assert live_buckets(buckets, 100) == {41: 2, 99: 1, 100: 3}
    assert bucket_at(100.999) == 100


@pytest.mark.parametrize(
    ("total", "limit", "cost", "expected"),
    [
        (4, 5, 1, 0),  # the fifth request fits exactly
        (5, 5, 1, 1),  # the sixth does not
        (0, 0, 1, 1),  # a limit of 0 admits nothing
        (999, 1000, 0, 0),  # tokens: under the limit, may go (its tokens are counted after)
        (1000, 1000, 0, 1),  # at the limit: waits until one token has left
        (1500, 1000, 0, 501),
    ],
)
def test_excess(total: int, limit: int, cost: int, expected: int) -> None:
    assert excess(total, limit, cost) == expected


@pytest.mark.parametrize(
    ("buckets", "now", "needed", "expected"),
    [
        ({100: 5}, 100.25, 1, 59.75),  # counted at 100.x, free when bucket 160 begins
        ({100: 2, 130: 3}, 131.0, 3, 59.0),  # the oldest bucket frees only 2: wait for 130 too
        ({100: 2, 130: 3}, 131.0, 2, 29.0),
        ({40: 9, 100: 1}, 100.0, 1, 60.0),  # bucket 40 has left already; it frees nothing
        ({100: 1}, 100.0, 2, None),  # more than the window holds: waiting never helps
    ],
)
def test_seconds_until_freed(
    buckets: dict[int, int], now: float, needed: int, expected: float | None
) -> None:
    assert seconds_until_freed(buckets, now, needed) == expected


@pytest.mark.parametrize(("seconds", "header"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (59.75, 60)])
def test_retry_after_header_rounds_up_to_whole_seconds(seconds: float, header: int) -> None:
    assert retry_after_header(seconds) == header


@pytest.mark.parametrize(
    ("now", "period", "label", "start", "end"),
    [
        ("2026-11-25T13:45:00", "day", "day:2026-11-25", "2026-11-25", "2026-11-26"),
        ("2026-12-31T23:59:59", "day", "day:2026-12-31", "2026-12-31", "2027-01-01"),
        ("2026-11-25T13:45:00", "week", "week:2026-11-23", "2026-11-23", "2026-11-30"),  # a Wednesday
        ("2026-11-23T00:00:00", "week", "week:2026-11-23", "2026-11-23", "2026-11-30"),  # Monday 00:00
        ("2026-11-29T23:59:59", "week", "week:2026-11-23", "2026-11-23", "2026-11-30"),  # Sunday night
        ("2026-12-30T10:00:00", "week", "week:2026-12-28", "2026-12-28", "2027-01-04"),  # across the year
        ("2026-11-25T13:45:00", "month", "month:2026-11-01", "2026-11-01", "2026-12-01"),
        ("2026-12-31T23:59:59", "month", "month:2026-12-01", "2026-12-01", "2027-01-01"),
        ("2028-02-29T12:00:00", "month", "month:2028-02-01", "2028-02-01", "2028-03-01"),  # leap year
        ("2026-01-31T12:00:00", "month", "month:2026-01-01", "2026-01-01", "2026-02-01"),
    ],
)
def test_budget_periods_are_calendar_periods_in_utc(
    now: str, period: str, label: str, start: str, end: str
) -> None:
    result = budget_period(epoch(now), period)
    assert (result.label, result.start, result.end) == (label, epoch(start), epoch(end))


def test_unknown_budget_period_is_an_error() -> None:
    with pytest.raises(ValueError, match="fortnight"):
        budget_period(0, "fortnight")


NOW = epoch("2026-11-25T13:45:00")
TEAM = TeamConfig(
    name="core",
    team_id=7,
    rate_limits=RateLimits(requests_per_minute=5, tokens_per_minute=1000),
    token_budget=50_000,
    budget_period="week",
)


def test_no_team_or_no_limits_means_nothing_to_check() -> None:
    assert call_limits(None, key_id=None, key_prefix=None, key_limits=NO_RATE_LIMITS, now=NOW) is NO_LIMITS
    unlimited = TeamConfig(name="free", team_id=1)
    assert not call_limits(unlimited, key_id=3, key_prefix="vdm-x", key_limits=NO_RATE_LIMITS, now=NOW)


def test_a_keys_limits_apply_in_addition_to_its_teams() -> None:
    limits = call_limits(
        TEAM, key_id=3, key_prefix="vdm-abc", key_limits=RateLimits(requests_per_minute=2), now=NOW
    )
    assert [(w.key, w.limit, w.unit, w.cost) for w in limits.windows] == [
        ("vdm:limits:{t7}:rpm", 5, REQUESTS, 1),
        ("vdm:limits:{t7}:tpm", 1000, TOKENS, 0),
        ("vdm:limits:{t7}:key:3:rpm", 2, REQUESTS, 1),
    ]
    assert [w.key for w in limits.token_windows] == ["vdm:limits:{t7}:tpm"]
    (budget,) = limits.budgets
    assert (budget.key, budget.limit, budget.team_id) == (
        "vdm:limits:{t7}:budget:week:2026-11-23",
        50_000,
        7,
    )
    assert limits.windows[2].describe() == "gateway key vdm-abc… allows 2 requests per minute"


def _window(limit: int, unit: str = REQUESTS, subject: str = "team 'core'") -> WindowLimit:
    return WindowLimit(f"k:{unit}:{limit}", limit, unit, subject)


def test_refusal_names_the_limit_and_the_longest_wait_wins() -> None:
    now = 1000.5
    limits = CallLimits((_window(5), _window(2, subject="gateway key vdm-abc")))
    verdict = Verdict(admitted=False, full_windows=((0, {980: 5}), (1, {950: 1, 990: 1})))
    refused = refusal(limits, verdict, now)
    # team: bucket 980 frees at 1040 (39.5 s); key: needs one gone, 950 frees at 1010 (9.5 s)
    assert refused.retry_after == 40
    assert refused.message == "rate limit exceeded: team 'core' allows 5 requests per minute; retry in 40 s"


def test_refusal_for_an_exhausted_budget_waits_for_the_next_period() -> None:
    period = budget_period(NOW, "month")
    budget = BudgetLimit("b", 1000, 7, period, "team 'core'")
    refused = refusal(CallLimits((), (budget,)), Verdict(admitted=False, full_budgets=((0, 1200),)), NOW)
    assert refused.retry_after == retry_after_header(epoch("2026-12-01T00:00:00") - NOW)
    assert "team 'core' has used 1200 of its 1000 tokens per month" in refused.message
    assert "resets at 2026-12-01 00:00 UTC" in refused.message


def test_a_zero_limit_refuses_for_a_whole_window() -> None:
    refused = refusal(CallLimits((_window(0),)), Verdict(admitted=False, full_windows=((0, {}),)), 10.0)
    assert refused.retry_after == 60
