"""Shared fixtures: test Fernet keys, a clean cache, routing snapshot and key pools per test."""

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache

from routing.keypool import key_pools
from routing.snapshot import routing_snapshot
from routing.usage import usage_recorder

TEST_FERNET_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]


@pytest.fixture(autouse=True)
def _isolated_gateway_state(settings: object) -> Iterator[None]:
    settings.VANDAMME_FERNET_KEYS = TEST_FERNET_KEYS[:1]  # type: ignore[attr-defined]
    settings.PROXY_API_KEY = ""  # type: ignore[attr-defined]
    # respx intercepts httpx's own transport; live tests run the default (aiohttp).
    settings.VANDAMME_UPSTREAM_TRANSPORT = "httpx"  # type: ignore[attr-defined]
    cache.clear()
    routing_snapshot.clear()
    key_pools.reset()
    usage_recorder.reset()
    yield
    cache.clear()
    routing_snapshot.clear()
    key_pools.reset()
    usage_recorder.reset()
