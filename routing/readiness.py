"""Readiness: can this process serve model calls now?

Ready means: the database answers, Redis answers when ``REDIS_URL`` is set, and at least
one provider can serve. Failures are reported by exception class only: driver messages
may carry host names or user names, and nothing here needs them.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from providers.models import ProviderLoadResult
from routing.snapshot import routing_snapshot
from routing.table import RoutingTable

CHECK_TIMEOUT_SECONDS = 2.0
_draining = False  # set once, on SIGTERM (routing.drain)


def readiness_begin_drain() -> None:
    """From now on this process answers "not ready": it is finishing what is open."""
    global _draining  # one process-wide flag, set from a signal handler
    _draining = True


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        checks_pass = all(check["ok"] for check in self.checks.values())
        return checks_pass and any(p["available"] for p in self.providers.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": self.checks,
            "providers": self.providers,
        }


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


async def _redis_ping() -> None:
    import redis.asyncio as redis_asyncio  # only with REDIS_URL set

    client = redis_asyncio.from_url(
        settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


def _provider_report(table: RoutingTable | None, loads: dict[str, dict[str, str]]) -> dict[str, Any]:
    names = set(loads) | (set(table.providers) | set(table.unavailable) if table else set())
    report: dict[str, Any] = {}
    for name in sorted(names):
        entry: dict[str, Any] = {"available": table is not None and name in table.providers}
        entry.update(loads.get(name, {}))
        if table is not None and name in table.unavailable:
            entry["reason"] = table.unavailable[name]
        report[name] = entry
    return report


async def readiness_check() -> Readiness:
    if _draining:  # at once, without asking the database: load balancers stop sending work
        return Readiness(checks={"draining": {"ok": False, "error": "draining"}})
    readiness = Readiness()
    loads: dict[str, dict[str, str]] = {}
    try:
        loads = await asyncio.wait_for(
            sync_to_async(_load_results, thread_sensitive=True)(), CHECK_TIMEOUT_SECONDS
        )
        readiness.checks["database"] = {"ok": True}
    except Exception as exc:
        readiness.checks["database"] = _failure(exc)
    if settings.REDIS_URL:
        try:
            await asyncio.wait_for(_redis_ping(), CHECK_TIMEOUT_SECONDS * 2)
            readiness.checks["redis"] = {"ok": True}
        except Exception as exc:
            readiness.checks["redis"] = _failure(exc)
    table = None
    if readiness.checks["database"]["ok"]:
        try:
            table = await routing_snapshot.get()
        except Exception as exc:
            readiness.checks["routing"] = _failure(exc)
    readiness.providers = _provider_report(table, loads)
    return readiness
