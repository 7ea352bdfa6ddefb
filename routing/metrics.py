"""Prometheus metrics of the data plane, fed from ``ProxyCall.record`` and stream watches.

Every update is an in-memory increment (a lock and a dict lookup in prometheus-client),
never I/O. Labels are ``provider``, ``model`` (the model *served*, capped per provider
by ``VANDAMME_METRICS_MAX_MODELS`` so clients cannot mint series with made-up names)
and ``team`` (empty for the single-user gateway key or an open gateway).

Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (before start-up, the same
directory for every process on the host, emptied before they start) prometheus-client
keeps the values in shared files and ``/metrics`` in any process reports the sum over
all of them; without it each process reports its own and is scraped as its own target.
Key state is the key pool's, which is per process either way.
"""

import atexit
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from routing.groups.breaker import STATE_VALUES as BREAKER_STATE_VALUES
from routing.groups.state import group_router
from routing.keypool import key_pools
from routing.request_context import RequestScope
from routing.snapshot import routing_snapshot
from vandamme.redis_breaker import redis_breakers, redis_location

if TYPE_CHECKING:
    from routing.usage import UsageEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LABELS = ("provider", "model", "team")
OTHER_MODELS = "other"
# Seconds: a cached answer takes milliseconds, a long generation minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)

REQUESTS = Counter(
    "vandamme_requests",
    "Model calls by outcome status (calls refused before routing have an empty provider).",
    [*LABELS, "status"],
)
ERRORS = Counter("vandamme_errors", "Failed model calls by error type.", [*LABELS, "type"])
LATENCY = Histogram(
    "vandamme_request_duration_seconds",
    "Time from request to the end of the answer (a stream's last byte).",
    LABELS,
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "vandamme_time_to_first_token_seconds",
    "Streams: time from request to the first chunk sent to the client.",
    LABELS,
    buckets=TTFT_BUCKETS,
)
TOKENS = Counter(
    "vandamme_tokens", "Tokens by kind: input, output, cached (input read from cache).", [*LABELS, "kind"]
)
COST = Counter(
    "vandamme_cost_usd",
    "What model calls cost in US dollars (overrides, else genai-prices' data; unpriced calls add nothing).",
    LABELS,
)
UNPRICED = Counter(
    "vandamme_unpriced_requests",
    "Model calls that used tokens of a model with no known price (add an override to price it).",
    ["provider", "model"],
)
ACTIVE_STREAMS = Gauge(
    "vandamme_active_streams", "Streams being relayed now.", LABELS, multiprocess_mode="livesum"
)

# Operator-facing names for the statuses a model call can end with.
ERROR_TYPES = {
    400: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    405: "invalid_request",
    413: "request_too_large",
    429: "rate_limited",
    499: "client_closed",
    500: "internal",
    502: "upstream_error",
    503: "overloaded",
    504: "upstream_timeout",
    529: "overloaded",
}


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, f"http_{status}")


class ModelLabels:
    """The ``model`` label value: the served model, until a provider has shown
    ``VANDAMME_METRICS_MAX_MODELS`` distinct ones in this process; later ones are ``other``."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {}

    def label(self, provider: str, model: str) -> str:
        seen = self._seen.setdefault(provider, set())
        if model in seen:
            return model
        if len(seen) >= settings.VANDAMME_METRICS_MAX_MODELS:
            return OTHER_MODELS
        seen.add(model)
        return model


model_labels = ModelLabels()


def call_labels(provider: str, model: str, team: str) -> tuple[str, str, str]:
    return provider, model_labels.label(provider, model), team


class CallSeries:
    """The metric children of one (provider, model, team), looked up once: ``labels()``
    takes a lock and a dict lookup per call, and a call touches up to six series."""

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.latency = LATENCY.labels(*labels)
        self.ttft = TIME_TO_FIRST_TOKEN.labels(*labels)
        self.tokens = {kind: TOKENS.labels(*labels, kind) for kind in ("input", "output", "cached")}
        self.cost = COST.labels(*labels)
        self.unpriced = UNPRICED.labels(labels[0], labels[1])
        self._requests: dict[int, Any] = {}
        self._errors: dict[int, Any] = {}

    def count(self, status: int) -> None:
        requests = self._requests.get(status)
        if requests is None:
            requests = self._requests[status] = REQUESTS.labels(*self.labels, str(status))
        requests.inc()
        if status >= 400:
            errors = self._errors.get(status)
            if errors is None:
                errors = self._errors[status] = ERRORS.labels(*self.labels, error_type(status))
            errors.inc()


_call_series: dict[tuple[str, str, str], CallSeries] = {}


def call_series(provider: str, model: str, team: str) -> CallSeries:
    """Cached by label values, never by raw model names, so made-up names that count as
    ``other`` share one entry instead of growing the cache."""
    series = _call_series.get((provider, model, team))
    if series is None:
        labels = call_labels(provider, model, team)
        series = _call_series.get(labels)
        if series is None:
            series = _call_series[labels] = CallSeries(labels)
    return series


def observe_call(event: "UsageEvent") -> None:
    """Count one model call that has an outcome (``ProxyCall.record`` calls this)."""
    series = call_series(event.provider, event.model_served, event.team_name)
    series.count(event.status)
    series.latency.observe(event.latency_ms / 1000)
    if event.ttft_ms is not None:
        series.ttft.observe(event.ttft_ms / 1000)
    for kind, count in (
        ("input", event.input_tokens),
        ("output", event.output_tokens),
        ("cached", event.cached_tokens),
    ):
        if count:
            series.tokens[kind].inc(count)
    if event.cost_usd:
        series.cost.inc(float(event.cost_usd))  # the counter is a float; records keep the Decimal
    elif event.unpriced:
        series.unpriced.inc()


def observe_request_end(request: RequestScope) -> None:
    """Count an API call refused before it was routed (bad key, bad JSON, wrong method):
    it has an error status and no usage event."""
    if request.usage is None and request.status >= 400 and request.path.startswith("/v1/"):
        call_series("", "", "").count(request.status)


class KeyStateCollector(Collector):
    """``vandamme_upstream_keys{provider,state}``, read from this process's key pool at
    scrape time: healthy, cooling (after a 429/401/403, until the cooldown ends) or
    failing (failed since its last success, cooldown over)."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "vandamme_upstream_keys",
            "Enabled upstream keys by state in this process's key pool.",
            labels=["provider", "state"],
        )
        table = routing_snapshot.table  # never built here: /metrics touches no database
        for provider in table.providers.values() if table is not None else ():
            if provider.passthrough:
                continue
            counts = dict.fromkeys(("healthy", "cooling", "failing"), 0)
            for key in provider.keys:
                counts[key_pools.state(provider.name, key)] += 1
            for state, count in counts.items():
                family.add_metric([provider.name, state], count)
        yield family


KEY_STATES = KeyStateCollector()
REGISTRY.register(KEY_STATES)


class FleetStateCollector(Collector):
    """This process's view of what it shares with the fleet, read at scrape time:
    the configuration generation it serves and how long ago that was confirmed current,
    whether its last database read worked, and whether it uses each Redis (breaker closed)."""

    def collect(self) -> Iterator[Metric]:
        table = routing_snapshot.table
        generation = GaugeMetricFamily(
            "vandamme_config_generation", "Configuration generation of this process's routing snapshot."
        )
        age = GaugeMetricFamily(
            "vandamme_config_confirmed_age_seconds",
            "Seconds since this process last confirmed its routing snapshot is current.",
        )
        if table is not None:
            generation.add_metric([], table.generation)
            age.add_metric([], time.monotonic() - routing_snapshot.confirmed_at)
        database = GaugeMetricFamily(
            "vandamme_database_up", "1 if this process's last database read (check or /ready) worked."
        )
        if routing_snapshot.database_ok is not None:
            database.add_metric([], 1 if routing_snapshot.database_ok else 0)
        redis = GaugeMetricFamily(
            "vandamme_redis_up",
            "1 while this process uses the Redis (its circuit breaker is closed).",
            labels=["redis"],
        )
        for breaker in redis_breakers():
            redis.add_metric([redis_location(breaker.url)], 1 if breaker.closed else 0)
        yield from (generation, age, database, redis)


FLEET_STATE = FleetStateCollector()
REGISTRY.register(FLEET_STATE)


class GroupStateCollector(Collector):
    """Model-group deployments as this process sees them, read at scrape time: the
    circuit breaker's state (0 closed, 1 half-open, 2 cooling after a 429, 3 open; shared
    through Redis when configured), requests in flight and the time-to-first-token EWMA."""

    def collect(self) -> Iterator[Metric]:
        breakers = GaugeMetricFamily(
            "vandamme_group_breaker_state",
            "Circuit breaker of a group deployment: 0 closed, 1 half-open, 2 cooling (429), 3 open.",
            labels=["deployment"],
        )
        in_flight = GaugeMetricFamily(
            "vandamme_group_in_flight", "Requests in flight to a group deployment.", labels=["deployment"]
        )
        latency = GaugeMetricFamily(
            "vandamme_group_ttft_ewma_seconds",
            "EWMA of a group deployment's time to first token (a whole answer's time when not streamed).",
            labels=["deployment"],
        )
        for key, state in group_router.breaker_states().items():
            breakers.add_metric([key], BREAKER_STATE_VALUES[state])
        for key, count in list(group_router.in_flight.items()):
            in_flight.add_metric([key], count)
        for key, seconds in list(group_router.latency.items()):
            latency.add_metric([key], seconds)
        yield from (breakers, in_flight, latency)


GROUP_STATE = GroupStateCollector()
REGISTRY.register(GROUP_STATE)


def multiprocess_dir() -> str:
    return str(settings.PROMETHEUS_MULTIPROC_DIR)


def exposition_registry() -> CollectorRegistry:
    """Where a scrape reads from: every process's shared files in multiprocess mode,
    else this process's registry (with its process and GC metrics)."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)
    registry.register(KEY_STATES)
    registry.register(FLEET_STATE)
    registry.register(GROUP_STATE)
    return registry


def render_metrics() -> bytes:
    return generate_latest(exposition_registry())


def active_stream_counts() -> dict[tuple[str, str, str], int]:
    """Streams in flight by (provider, model, team), over all processes in multiprocess mode."""
    counts: dict[tuple[str, str, str], int] = {}
    registry = exposition_registry()
    for family in ACTIVE_STREAMS.collect() if registry is REGISTRY else registry.collect():
        if family.name != "vandamme_active_streams":
            continue
        for sample in family.samples:
            if sample.value:
                key = (sample.labels["provider"], sample.labels["model"], sample.labels["team"])
                counts[key] = counts.get(key, 0) + int(sample.value)
    return counts


def mark_process_dead() -> None:
    """At exit in multiprocess mode: this process's live gauges stop counting."""
    if multiprocess_dir():
        prometheus_multiprocess.mark_process_dead(os.getpid())


atexit.register(mark_process_dead)


# Spend budgets (routing.limits.alerts): a period's spend reaching its soft threshold,
# counted once per period (once per process while Redis is away).
SPEND_ALERTS = Counter(
    "vandamme_spend_alerts",
    "Spend budgets that reached their alert threshold, once per period; budget: team or key.",
    ["team", "budget"],
)
