"""/ready: 200 while the routing snapshot is built and a provider can serve; the database,
Redis (when configured) and the providers' load status are reported in the body."""

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError

from providers.generation import config_generation_bump
from providers.models import ApiKey, LoadStatus, ProviderLoadResult
from routing import readiness
from tests.integration.gateway import free_port
from tests.redis_server import RedisServer


async def test_ready_with_a_database_and_a_provider(
    providers: object, gateway_http: httpx.AsyncClient
) -> None:
    await ProviderLoadResult.objects.acreate(
        provider_name="gemini", status=LoadStatus.INACTIVE, message="no API key configured"
    )
    response = await gateway_http.get("/ready")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ready"
    assert report["checks"]["database"] == {"ok": True}
    assert report["checks"]["routing"]["ok"] is True
    assert report["providers"]["mockai"]["available"] is True
    assert report["providers"]["gemini"] == {
        "available": False,
        "load_status": "inactive",
        "message": "no API key configured",
        "reason": "no API key configured",
    }
    assert "x-request-id" in response.headers


async def test_not_ready_without_any_provider_that_can_serve(
    transactional_db: None, gateway_http: httpx.AsyncClient
) -> None:
    response = await gateway_http.get("/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"


async def test_still_ready_when_the_database_is_away_but_the_snapshot_serves(
    providers: object, gateway_http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away() -> object:
        raise OperationalError("could not connect to server at db.internal as vandamme:hunter2")

    monkeypatch.setattr(readiness, "_load_results", database_away)
    response = await gateway_http.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "hunter2" not in response.text


async def test_still_ready_when_redis_is_configured_and_away(
    providers: object, gateway_http: httpx.AsyncClient, settings: object
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # type: ignore[attr-defined]
    response = await gateway_http.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError", "in_use": False}


async def test_ready_with_a_real_redis(
    providers: object, gateway_http: httpx.AsyncClient, settings: object, redis_server: RedisServer
) -> None:
    settings.REDIS_URL = redis_server.url  # type: ignore[attr-defined]
    response = await gateway_http.get("/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["redis"] == {"ok": True, "in_use": True}


async def test_a_provider_whose_keys_are_all_disabled_cannot_serve(
    providers: object, gateway_http: httpx.AsyncClient
) -> None:
    """It stays in the snapshot (a call gets a 503 that says its keys are disabled), but
    readiness must not count it as a provider that can serve."""
    await ApiKey.objects.all().aupdate(enabled=False)
    await sync_to_async(config_generation_bump)()
    response = await gateway_http.get("/ready")
    assert response.status_code == 503
    report = response.json()["providers"]
    assert report["mockai"]["available"] is False
    assert report["mockai"]["reason"] == "all 2 API keys are disabled"
    assert report["mockant"]["reason"] == "all 1 API keys are disabled"
