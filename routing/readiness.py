"""Readiness: can this process serve model calls from its routing snapshot?

Ready (200) means the snapshot is built and at least one provider in it can serve; that
is all a load balancer needs to send traffic here. The database and Redis are reported
in the body (and as gauges in ``/metrics``), never as a 503 on their own: the data plane
serves from memory through a database stall or a Redis outage, and a probe that failed
every replica at once on such a blip would take the whole fleet out of rotation.
Failures are reported by exception class only: driver messages may carry host names or
user names, and nothing here needs them.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from providers.models import ProviderLoadResult
from routing.snapshot import routing_snapshot
from routing.table import ProviderConfig, RoutingTable
from teams.gateway_mode import configured_mode
from vandamme.redis_breaker import async_client, redis_breaker, redis_errors

CHECK_TIMEOUT_SECONDS = 1.0
REDIS_PING_TIMEOUT_SECONDS = 0.5

# One thread for the database probe: a probe stuck in a stalled database holds this
# thread only, never the loop's default executor or a request's thread.
_probe_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ready-db")
_draining = False  # set once, on SIGTERM (routing.drain)


def readiness_begin_drain() -> None:
    """From now on this process answers "not ready": it is finishing what is open."""
    global _draining  # one process-wide flag, set from a signal handler
    _draining = True


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    table: RoutingTable | None = None

    @property
    def ready(self) -> bool:
        return self.table is not None and any(p["available"] for p in self.providers.values())

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "ready" if self.ready else "not ready"}
        if self.table is not None:  # open or closed, and why (routing.gateway_mode)
            answer["gateway"] = configured_mode(teams_exist=self.table.teams_configured).as_dict()
        return {**answer, "checks": self.checks, "providers": self.providers}


def _failure(exc: BaseException) -> dict[str, Any]:
    reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
    return {"ok": False, "error": reason}


def _load_results() -> dict[str, dict[str, str]]:
    """One query (which proves the database answers); the connection is closed after,
    as the lean data-plane handler sends no ``request_finished`` to close it."""
    try:
        return {
            row.provider_name: {"load_status": row.status, "message": row.message}
            for row in ProviderLoadResult.objects.all()
        }
    finally:
        if not connection.in_atomic_block:
            connection.close()


class DatabaseProbe:
    """At most one probe query in flight; a probe still running after the timeout is
    reported as timed out and later callers join it instead of starting another."""

    def __init__(self) -> None:
        self._running: asyncio.Future[dict[str, dict[str, str]]] | None = None

    async def check(self) -> dict[str, dict[str, str]]:
        loop = asyncio.get_running_loop()
        if self._running is None or self._running.done() or self._running.get_loop() is not loop:
            self._running = loop.run_in_executor(_probe_executor, _load_results)
        return await asyncio.wait_for(asyncio.shield(self._running), CHECK_TIMEOUT_SECONDS)


database_probe = DatabaseProbe()


async def _redis_ping() -> None:
    client = async_client(settings.REDIS_URL, REDIS_PING_TIMEOUT_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _all_keys_disabled(provider: ProviderConfig) -> bool:
    return not provider.keys and not provider.passthrough and provider.disabled_keys > 0


def _provider_report(table: RoutingTable | None, loads: dict[str, dict[str, str]]) -> dict[str, Any]:
    names = set(loads) | (set(table.providers) | set(table.unavailable) if table else set())
    report: dict[str, Any] = {}
    for name in sorted(names):
        entry: dict[str, Any] = {"available": table is not None and name in table.providers}
        entry.update(loads.get(name, {}))
        if table is not None and name in table.unavailable:
            entry["reason"] = table.unavailable[name]
        elif table is not None and name in table.providers and _all_keys_disabled(table.providers[name]):
            # Kept in the table so a call gets a 503 that says so, but it cannot serve.
            entry["available"] = False
            entry["reason"] = f"all {table.providers[name].disabled_keys} API keys are disabled"
        report[name] = entry
    return report


async def _routing(readiness: Readiness) -> None:
    try:
        readiness.table = await asyncio.wait_for(routing_snapshot.get(), CHECK_TIMEOUT_SECONDS * 5)
    except Exception as exc:
        readiness.checks["routing"] = _failure(exc)
        return
    age = time.monotonic() - routing_snapshot.confirmed_at
    readiness.checks["routing"] = {
        "ok": True,
        "generation": readiness.table.generation,
        "confirmed_seconds_ago": round(age, 3),
    }


async def _redis(readiness: Readiness) -> None:
    """A ping, which is also a probe of its breaker (``in_use``: the gateway uses Redis now)."""
    breaker = redis_breaker(settings.REDIS_URL)
    try:
        await _redis_ping()
    except redis_errors() as exc:
        breaker.failed(exc)
        readiness.checks["redis"] = {**_failure(exc), "in_use": False}
        return
    breaker.succeeded()
    readiness.checks["redis"] = {"ok": True, "in_use": True}


async def readiness_check() -> Readiness:
    if _draining:  # at once, without asking the database: load balancers stop sending work
        return Readiness(checks={"draining": {"ok": False, "error": "draining"}})
    readiness = Readiness()
    loads: dict[str, dict[str, str]] = {}
    try:
        loads = await database_probe.check()
        readiness.checks["database"] = {"ok": True}
    except Exception as exc:
        readiness.checks["database"] = _failure(exc)
    routing_snapshot.database_ok = readiness.checks["database"]["ok"]
    if settings.REDIS_URL:
        await _redis(readiness)
    await _routing(readiness)
    readiness.providers = _provider_report(readiness.table, loads)
    return readiness
