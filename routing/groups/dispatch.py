"""A call to a model group: its chosen target, then the group's other targets, then the
alias's fallbacks, each group target counted (in flight, time to first token, breaker).

A target is chosen before the first byte reaches the client: a stream that fails once
it has begun cannot move to another target (the client has its first bytes already).
"""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http.response import HttpResponseBase

from routing.errors import GatewayError
from routing.failover import retry_after_seconds
from routing.groups.state import GroupCall, group_router
from routing.groups.strategies import GroupChoice, deployment_key
from routing.middleware.run import HookFailure
from routing.resolution import Resolution
from routing.tracing import trace_fallback

if TYPE_CHECKING:
    from routing.calls import Dispatch, ProxyCall

logger = logging.getLogger(__name__)


async def dispatch_group(
    call: "ProxyCall",
    dispatch: "Dispatch",
    resolution: Resolution,
    choice: GroupChoice,
    *,
    resolve_fallback: Callable[["ProxyCall", str], Resolution],
    fallback_statuses: frozenset[int],
) -> HttpResponseBase:
    """Serve from the group's order; the client gets the first target's error when no
    target serves."""
    group_call = call.group_call = group_router.start(choice)
    members = choice.member_keys
    try:
        return await _attempt(call, dispatch, resolution, group_call, deployment_key(choice.order[0]))
    except GatewayError as error:
        # A middleware's refusal is the answer, whichever target would serve.
        refused = isinstance(error, HookFailure)
        if error.status not in fallback_statuses or not resolution.fallbacks or refused:
            raise
        original = error
    failed = choice.order[0].target
    for target in resolution.fallbacks:
        try:
            fallback = resolve_fallback(call, target)
        except GatewayError as unresolvable:
            logger.warning("group %s: %s skipped: %s", choice.group.name, target, unresolvable.message)
            continue
        logger.warning("group %s: %s failed; trying %s", choice.group.name, failed, target)
        trace_fallback(target)
        key = target.lower() if target.lower() in members else None
        try:
            return await _attempt(call, dispatch, fallback, group_call, key)
        except GatewayError as error:
            if error.status not in fallback_statuses:
                raise original from error
            failed = target
    logger.warning("group %s: %s failed; no target left", choice.group.name, failed)
    raise original


async def _attempt(
    call: "ProxyCall", dispatch: "Dispatch", resolution: Resolution, group_call: GroupCall, key: str | None
) -> HttpResponseBase:
    """One target; ``key`` None: an alias fallback outside the group (not counted)."""
    if key is None:
        group_call.leave_group()
        return await dispatch(call, resolution)
    group_call.begin(key)
    try:
        response = await dispatch(call, resolution)
    except GatewayError as error:
        group_call.failed(error.status, retry_after_seconds(error.headers.get("retry-after")))
        raise
    except BaseException:  # the client went away (cancelled): no verdict on the target
        group_call.end()
        raise
    group_call.succeeded()
    return response
