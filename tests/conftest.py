"""Shared fixtures: test Fernet keys, a clean cache, routing snapshot, key pools and limit
counters per test; a redis-server for the tests that need one."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.db import connections

from routing.groups.state import group_router
from routing.keypool import key_pools
from routing.limits.service import limiter
from routing.retry_budget import retry_budgets
from routing.snapshot import routing_snapshot
from routing.usage import usage_recorder
from tests.postgres_server import PG_BIN, PostgresServer
from tests.redis_server import REDIS_SERVER, RedisServer
from vandamme.redis_breaker import redis_breakers_reset

TEST_FERNET_KEYS = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]


@pytest.fixture(scope="session")
def _session_usage_spool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("usage-spool")


@pytest.fixture(autouse=True)
def _isolated_gateway_state(settings: object, _session_usage_spool: Path) -> Iterator[None]:
    settings.VANDAMME_FERNET_KEYS = TEST_FERNET_KEYS[:1]  # type: ignore[attr-defined]
    # admin_client's user: PBKDF2's real cost would add most of a second per admin test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    settings.PROXY_API_KEY = ""  # type: ignore[attr-defined]
    # respx intercepts httpx's own transport; live tests run the default (aiohttp).
    settings.VANDAMME_UPSTREAM_TRANSPORT = "httpx"  # type: ignore[attr-defined]
    # Limit counters in memory, unless a test asks for Redis (limits_in_redis).
    settings.VANDAMME_LIMITS_REDIS_URL = ""  # type: ignore[attr-defined]
    settings.VANDAMME_GROUPS_REDIS_URL = ""  # type: ignore[attr-defined]
    # Never the checkout's own spool: a flush replays what it finds there.
    settings.VANDAMME_USAGE_SPOOL_DIR = _session_usage_spool  # type: ignore[attr-defined]
    cache.clear()
    routing_snapshot.clear()
    key_pools.reset()
    retry_budgets.reset()
    usage_recorder.reset()
    limiter.reset()
    redis_breakers_reset()
    group_router.reset()
    yield
    cache.clear()
    routing_snapshot.clear()
    key_pools.reset()
    retry_budgets.reset()
    usage_recorder.reset()
    limiter.reset()
    redis_breakers_reset()
    group_router.reset()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (tests flush it); skipped only where none is installed."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/_install_redis.sh installs it)")
    directory: Path = tmp_path_factory.mktemp("redis")
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the session's multi-process tests (each makes its own database)."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL is not installed (source scripts/_postgres.sh installs it)")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def limits_in_redis(redis_server: RedisServer, settings: object) -> AsyncIterator[RedisServer]:
    """Limit counters in a real, empty Redis for this test."""
    with redis_server.client() as client:
        client.flushall()
    settings.VANDAMME_LIMITS_REDIS_URL = redis_server.url  # type: ignore[attr-defined]
    yield redis_server
    await limiter.aclose()


@pytest.fixture(scope="session", autouse=True)
def _close_async_test_connections(django_db_setup: None) -> Iterator[None]:
    """Async tests run the ORM in asgiref's shared worker thread, whose connections Django
    never closes; PostgreSQL then refuses to drop the test database. Close them first."""
    yield
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())
