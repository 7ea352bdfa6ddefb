"""Helpers for the observability tests: scrape /metrics and read samples from it."""

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.gateway.conftest import gateway_http, providers  # noqa: F401  (re-exported fixtures)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_samples(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse_samples(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def call_labels(provider: str = "mockai", model: str = "gpt-4o", team: str = "") -> Mapping[str, str]:
    return {"provider": provider, "model": model, "team": team}
