"""Active health checks (off by default: each check is a real, billed model call).

With ``VANDAMME_GROUP_HEALTH_CHECK_SECONDS`` > 0, a task per event loop (started by the
first group request) looks every that many seconds for group targets whose breaker waits
for a probe (half-open: the cooldown is over) and sends each one a cheap request itself —
one user message, ``max_tokens`` 1, through the Messages door like any call (it is
accounted, with no team) — so a recovered target comes back without a client's request
being the probe. Targets that are closed are not checked: they carry traffic already.
"""

import asyncio
import contextvars
import logging
import time

from django.conf import settings

from routing.errors import GatewayError
from routing.groups.breaker import HALF_OPEN
from routing.groups.state import GroupRouter
from routing.groups.strategies import deployment_key
from routing.table import RoutingTable

logger = logging.getLogger(__name__)

PROBE_BODY = {"max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
_tasks: dict[int, "asyncio.Task[None]"] = {}


def start_health_checks(router: GroupRouter) -> None:
    """Start this event loop's checker once, when checks are on."""
    if settings.VANDAMME_GROUP_HEALTH_CHECK_SECONDS <= 0:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop (a management command): nothing to schedule
        return
    task = _tasks.get(id(loop))
    if task is not None and task.get_loop() is loop and not task.done():
        return
    _tasks[id(loop)] = loop.create_task(_check_forever(router), context=contextvars.Context())


async def _check_forever(router: GroupRouter) -> None:
    from routing.snapshot import routing_snapshot  # the snapshot module imports the request path

    while True:
        await asyncio.sleep(settings.VANDAMME_GROUP_HEALTH_CHECK_SECONDS)
        table = routing_snapshot.table
        if table is not None:
            await check_waiting_targets(table, router)


def waiting_targets(table: RoutingTable, router: GroupRouter) -> list[str]:
    """Targets of any group whose breaker is half-open with no probe under way."""
    now = time.time()
    aliases = [*table.global_aliases.values(), *table.scoped_aliases.values()]
    targets = {
        deployment.target: None
        for alias in aliases
        if alias.group is not None
        for deployment in alias.group.deployments
        if router.board.state(deployment_key(deployment), now) == HALF_OPEN
        and router.board.available(deployment_key(deployment), now)
    }
    return list(targets)


async def check_waiting_targets(table: RoutingTable, router: GroupRouter) -> None:
    for target in waiting_targets(table, router):
        await check_target(table, router, target)


async def check_target(table: RoutingTable, router: GroupRouter, target: str) -> None:
    """One cheap request to ``target``; its outcome closes or reopens the breaker."""
    from routing.auth import ClientAuth  # the door modules import this package's state
    from routing.calls import ProxyCall
    from routing.doors.messages import proxy_messages

    key = target.lower()
    call = ProxyCall({"model": target, **PROBE_BODY}, {}, ClientAuth(), table)
    router.begin(key)
    started = time.perf_counter()
    try:
        await proxy_messages(call)
    except GatewayError as error:
        logger.warning("health check of group target %s failed: %s", target, error.status)
        router.failed(key, error.status, None)
    else:
        router.succeeded(key, time.perf_counter() - started)
    finally:
        router.end(key)
