"""Shared fixtures: test Fernet keys, a clean cache and routing snapshot per test."""

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache

TEST_FERNET_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]


@pytest.fixture(autouse=True)
def _isolated_gateway_state(settings: object) -> Iterator[None]:
    settings.VANDAMME_FERNET_KEYS = TEST_FERNET_KEYS[:1]  # type: ignore[attr-defined]
    settings.PROXY_API_KEY = ""  # type: ignore[attr-defined]
    cache.clear()
    yield
    cache.clear()
