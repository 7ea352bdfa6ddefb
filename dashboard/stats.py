"""Usage aggregates for the dashboard: time buckets, rates and latency percentiles.

Pure: the database hands over grouped counts (requests, errors, tokens and a cumulative
latency histogram per provider, team and time bucket); this module folds them into
series and totals. Percentiles are estimated from the histogram by linear interpolation
inside the bucket, as Prometheus' ``histogram_quantile`` does, so the database never
sorts a window's latencies.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Upper edges (ms) of the latency histogram counted in the database.
LATENCY_EDGES_MS = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000)
NO_TEAM = "(no team)"


def percentile(cumulative: Sequence[int], total: int, quantile: float) -> float | None:
    """The ``quantile`` (0..1) of a histogram given as cumulative counts at
    ``LATENCY_EDGES_MS``; past the last edge it answers the last edge."""
    if total <= 0:
        return None
    rank = quantile * total
    lower_edge, lower_count = 0.0, 0
    for edge, count in zip(LATENCY_EDGES_MS, cumulative, strict=True):
        if count >= rank:
            in_bucket = count - lower_count
            fraction = (rank - lower_count) / in_bucket if in_bucket else 1.0
            return lower_edge + (edge - lower_edge) * fraction
        lower_edge, lower_count = float(edge), count
    return float(LATENCY_EDGES_MS[-1])


@dataclass
class Aggregate:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    ttft_sum: int = 0
    ttft_count: int = 0
    latency_cumulative: list[int] = field(default_factory=lambda: [0] * len(LATENCY_EDGES_MS))

    def add(self, row: Mapping[str, Any]) -> None:
        self.requests += row["requests"]
        self.errors += row["errors"]
        self.input_tokens += row["input_tokens"] or 0
        self.output_tokens += row["output_tokens"] or 0
        self.cached_tokens += row["cached_tokens"] or 0
        self.ttft_sum += row["ttft_sum"] or 0
        self.ttft_count += row["ttft_count"]
        for index in range(len(LATENCY_EDGES_MS)):
            self.latency_cumulative[index] += row[f"le_{index}"]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def latency_ms(self, quantile: float) -> float | None:
        return percentile(self.latency_cumulative, self.requests, quantile)

    def as_dict(self) -> dict[str, Any]:
        p50, p95 = self.latency_ms(0.5), self.latency_ms(0.95)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_pct": round(self.error_rate * 100, 1),
            "p50_ms": round(p50) if p50 is not None else None,
            "p95_ms": round(p95) if p95 is not None else None,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "tokens": self.input_tokens + self.output_tokens,
            "ttft_avg_ms": round(self.ttft_sum / self.ttft_count) if self.ttft_count else None,
        }


@dataclass(frozen=True)
class Window:
    """``buckets`` time buckets of ``bucket_seconds`` each, the last one holding now."""

    name: str
    start: datetime
    bucket_seconds: int
    buckets: int

    def index_of(self, moment: datetime) -> int | None:
        index = int((moment - self.start).total_seconds() // self.bucket_seconds)
        return index if 0 <= index < self.buckets else None

    def labels(self) -> list[str]:
        step = self.bucket_seconds
        fmt = "%H:%M"
        return [
            datetime.fromtimestamp(self.start.timestamp() + i * step, tz=self.start.tzinfo).strftime(fmt)
            for i in range(self.buckets)
        ]


def _group_name(row: Mapping[str, Any], grouping: str) -> str:
    if grouping == "team":
        return str(row["team_name"] or NO_TEAM)
    return str(row["provider"] or "(not routed)")


def fold(window: Window, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Series (one point per bucket) and totals per provider and per team."""
    rows = list(rows)
    result: dict[str, Any] = {"labels": window.labels(), "bucket_seconds": window.bucket_seconds}
    for grouping in ("provider", "team"):
        per_bucket: dict[str, list[Aggregate]] = {}
        totals: dict[str, Aggregate] = {}
        for row in rows:
            index = window.index_of(row["bucket"])
            if index is None:
                continue
            name = _group_name(row, grouping)
            buckets = per_bucket.setdefault(name, [Aggregate() for _ in range(window.buckets)])
            buckets[index].add(row)
            totals.setdefault(name, Aggregate()).add(row)
        result[grouping] = {
            "series": {name: [b.as_dict() for b in buckets] for name, buckets in sorted(per_bucket.items())},
            "totals": {name: totals[name].as_dict() for name in sorted(totals)},
        }
    return result
