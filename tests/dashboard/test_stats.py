"""The dashboard's pure aggregates: percentiles from a cumulative histogram, buckets."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.stats import LATENCY_EDGES_MS, Aggregate, Window, fold, percentile


def _cumulative(latencies_ms: list[int]) -> list[int]:
    return [sum(1 for latency in latencies_ms if latency <= edge) for edge in LATENCY_EDGES_MS]


@pytest.mark.parametrize(
    ("latencies", "quantile", "expected"),
    [
        ([10] * 100, 0.5, 25.0),  # all in the first bucket (0..50]: interpolated to its middle
        ([10] * 50 + [400] * 50, 0.5, 50.0),  # exactly half below 50 ms
        ([10] * 50 + [400] * 50, 0.95, 250 + 250 * 0.9),  # 45 of the 50 in (250..500]
        ([900_000], 0.5, float(LATENCY_EDGES_MS[-1])),  # beyond the last edge
    ],
)
def test_percentile_interpolates_inside_the_bucket(
    latencies: list[int], quantile: float, expected: float
) -> None:
    assert percentile(_cumulative(latencies), len(latencies), quantile) == pytest.approx(expected)


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([0] * len(LATENCY_EDGES_MS), 0, 0.5) is None


def _row(provider: str, team: str, bucket: datetime, requests: int, errors: int = 0) -> dict[str, object]:
    row: dict[str, object] = {
        "provider": provider,
        "team_name": team,
        "bucket": bucket,
        "requests": requests,
        "errors": errors,
        "input_tokens": 10 * requests,
        "output_tokens": 2 * requests,
        "cached_tokens": 0,
        "ttft_sum": None,
        "ttft_count": 0,
    }
    row.update({f"le_{i}": requests for i in range(len(LATENCY_EDGES_MS))})
    return row


def test_fold_groups_by_provider_and_team_into_buckets() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    window = Window("hour", start, 60, 60)
    rows = [
        _row("openai", "alpha", start, 3, errors=1),
        _row("openai", "", start + timedelta(minutes=59), 1),
        _row("anthropic", "alpha", start + timedelta(minutes=5), 2),
        _row("openai", "alpha", start - timedelta(minutes=1), 100),  # before the window
    ]
    folded = fold(window, rows)
    assert (folded["labels"][0], folded["labels"][-1]) == ("10:00", "10:59")
    totals = folded["provider"]["totals"]
    assert totals["openai"]["requests"] == 4
    assert totals["openai"]["error_pct"] == 25.0
    assert totals["openai"]["tokens"] == 48
    assert folded["team"]["totals"]["(no team)"]["requests"] == 1
    assert folded["team"]["totals"]["alpha"]["requests"] == 5
    series = folded["provider"]["series"]["openai"]
    assert [point["requests"] for point in series if point["requests"]] == [3, 1]
    assert series[59]["requests"] == 1


def test_aggregate_without_requests_has_no_rates() -> None:
    assert Aggregate().as_dict()["p50_ms"] is None
    assert Aggregate().as_dict()["error_pct"] == 0.0
