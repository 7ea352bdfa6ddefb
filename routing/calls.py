"""One proxied call, whichever front door it came through, and what both doors share.

``ProxyCall`` carries the parsed body, the client's headers and who is calling; it
resolves model names with the team's aliases and access rules, and accounts for the
call once it has an outcome. ``serve_with_fallbacks`` runs a door's dispatch against
the resolved target and then, on a retryable failure, against each fallback in turn.
"""

import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.access import check_team_access
from routing.adapters.http import base_headers
from routing.auth import ClientAuth
from routing.call_cost import COST_HEADER, call_cost, cost_text, price_event
from routing.errors import GatewayError, invalid_request
from routing.failover import OpenedUpstream, UpstreamRequest, open_upstream
from routing.formats import Door, upstream_wire
from routing.groups.affinity import affinity_key
from routing.groups.dispatch import dispatch_group
from routing.groups.state import GroupCall, group_router
from routing.limits.reservation import Reservation, spend_estimate, token_estimate
from routing.limits.service import limiter
from routing.metrics import observe_call
from routing.middleware.chain import Chain
from routing.middleware.run import HookFailure, HookRun, run_request_hooks
from routing.request_checks import check_model_name
from routing.request_context import current_request, note_error
from routing.resolution import Resolution, resolve_model
from routing.retry_budget import CLIENT_RETRY_COUNT_HEADER, client_is_retrying
from routing.stream_watch import StreamWatch, new_stream_watch
from routing.table import RoutingTable
from routing.tracing import trace_answer, trace_call, trace_fallback, traced_resolution
from routing.usage import UsageEvent, usage_recorder
from vandamme.secrets import redact_keys, safe_model_name

logger = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Failures worth trying a fallback target for: the target, not the request, is at fault.
FALLBACK_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})


@dataclass
class ProxyCall:
    """A request on its way through the gateway (either dialect)."""

    body: dict[str, Any]
    client_headers: Mapping[str, str]
    auth: ClientAuth = field(repr=False)
    table: RoutingTable = field(repr=False)
    started: float = field(default_factory=time.perf_counter)
    body_size: int = 0  # bytes of the JSON body: the token reservation's input estimate
    reservation: Reservation | None = field(default=None, repr=False)
    recorded: UsageEvent | None = field(default=None, repr=False)  # the last outcome accounted
    # A call to a model group: its target in flight until the outcome is accounted.
    group_call: GroupCall | None = field(default=None, repr=False)
    door: Door = Door.MESSAGES  # the dialect the client speaks
    hook_states: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)  # middleware, per call

    @property
    def streamed(self) -> bool:
        return self.body.get("stream") is True

    def record(
        self,
        resolution: Resolution | None,
        status: int,
        usage: Mapping[str, Any] | None,
        *,
        streamed: bool,
        ttft_ms: int | None = None,
        error: str = "",
    ) -> None:
        """Account for this request once it has an outcome: usage record (buffered),
        metrics and the access line's fields. In memory only; no I/O here.

        ``usage`` is in Anthropic's shape (``input_tokens``, ``output_tokens``,
        ``cache_read_input_tokens``, ``cache_creation_input_tokens``), whichever dialect
        the call spoke, plus ``reasoning_output_tokens`` (of the output) where known.
        The call is priced here, from the snapshot's price table (no I/O).
        """
        usage = usage or {}
        team = self.auth.team
        event = UsageEvent(
            provider=resolution.provider.name if resolution else "",
            model_requested=self.shown_model(str(self.body.get("model", ""))[:300]),
            model_served=self.shown_model(resolution.upstream_model[:300]) if resolution else "",
            status=status,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            streamed=streamed,
            # As the upstream said: UsageEvent clamps them (a float, a string or 2**64 is
            # no error here, nor in the batch write).
            input_tokens=usage.get("input_tokens") or 0,
            output_tokens=usage.get("output_tokens") or 0,
            cached_tokens=usage.get("cache_read_input_tokens") or 0,
            cache_write_tokens=usage.get("cache_creation_input_tokens") or 0,
            reasoning_tokens=usage.get("reasoning_output_tokens") or 0,
            ttft_ms=ttft_ms,
            error=redact_keys(error[:300], self.known_secrets()) if error else "",
            team_id=team.team_id if team else None,
            team_name=team.name if team else "",
            key_prefix=self.auth.key_prefix or "",
            key_id=self.auth.key_id,
        )
        provider = resolution.provider if resolution else None
        model = resolution.upstream_model if resolution else ""
        price_event(event, call_cost(self.table.prices, provider, model, event))
        if self.group_call is not None:  # the group's target is done: its tokens count
            self.group_call.used_tokens(event.input_tokens + event.output_tokens)
            self.group_call.end()
        self.recorded = event
        usage_recorder.record(event)
        reservation, self.reservation = self.reservation, None  # settled once
        tokens = event.input_tokens + event.output_tokens
        limiter.count(self.auth, tokens, event.created_at.timestamp(), reservation, cost_usd=event.cost_usd)
        observe_call(event)
        trace_call(resolution, self.body)
        request = current_request.get()
        if request is not None:
            request.usage = event
            if error and streamed:  # a stream that failed after its 200: the access line says so
                note_error(error)

    def known_secrets(self) -> tuple[str | None, ...]:
        """Secrets this call may echo that are not key-shaped: the gateway's own key and
        the client's forwarded one."""
        return settings.PROXY_API_KEY, self.auth.forwardable_key

    def shown_model(self, name: str) -> str:
        """``name`` as usage records, metrics labels, logs and pages keep it: a key pasted
        as a model name becomes ``[redacted-key]`` (a name seen before costs a set lookup)."""
        return safe_model_name(name, self.known_secrets())

    async def admit(self, resolution: Resolution) -> None:
        """Refuse the call (429, ``retry-after``) when its team or gateway key is over a
        limit; count it and reserve its estimated tokens and cost otherwise. Runs before
        any upstream call, once resolved: the cost estimate takes the resolved model's
        prices (a fallback that serves instead is settled on its real cost)."""
        estimate = token_estimate(self.body_size, self.body)

        def spend() -> int:  # only asked when the call has a spend budget
            prices = self.table.prices
            if prices is None:
                return 0
            unit = prices.unit_prices(resolution.provider, resolution.upstream_model, datetime.now(UTC))
            return spend_estimate(estimate, unit)

        self.reservation = await limiter.admit(self.auth, reserve=estimate.total, spend=spend)

    def watch_stream(self, resolution: Resolution) -> StreamWatch:
        """The hook for a stream this call answers with (see ``routing.stream_watch``)."""
        team = self.auth.team
        return new_stream_watch(
            provider=resolution.provider.name,
            model=self.shown_model(resolution.upstream_model),
            team=team.name if team else "",
            started=self.started,
            account=lambda usage, status, ttft_ms, error="": self.record(
                resolution, status, usage, streamed=True, ttft_ms=ttft_ms, error=error
            ),
        )

    def affinity_key(self) -> str | None:
        """The conversation this call belongs to (asked by model groups only)."""
        return affinity_key(self.client_headers, self.body)

    def chain_for(self, resolution: Resolution) -> Chain | None:
        """The middleware this call runs with ``resolution``: the provider's chain (resolved
        in the snapshot), then the team's; None (the usual case) when neither has one."""
        chain = resolution.provider.middleware
        team = self.auth.team
        if team is None or team.middleware is None:
            return chain
        return team.middleware if chain is None else chain + team.middleware

    def hook_run(self, resolution: Resolution) -> HookRun:
        team = self.auth.team
        return HookRun(
            door=self.door.value,
            wire=upstream_wire(self.door, resolution.provider).value,
            provider=resolution.provider.name,
            model=resolution.upstream_model,
            team=team.name if team else "",
            streamed=self.streamed,
            states=self.hook_states,
            client_body=self.body,
        )

    def resolve(self, name: str) -> Resolution:
        """Resolve with the team's aliases, then check the team may use the result."""
        team = self.auth.team
        with traced_resolution(name, self.shown_model) as resolved:
            resolution = resolve_model(name, self.table, team.aliases if team else None, group_router, self)
            check_team_access(team, name, resolution)
            resolved(resolution)
        return resolution


Dispatch = Callable[[ProxyCall, Resolution], Awaitable[HttpResponseBase]]


def require_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid_request("model: field required (a non-empty string)")
    check_model_name(model)
    return model


async def serve_with_fallbacks(
    call: ProxyCall, dispatch: Dispatch, *, validate: Callable[[dict[str, Any]], None] | None = None
) -> HttpResponseBase:
    """Validate the body, resolve the call's model, hold it to its limits and dispatch;
    on a retryable failure try each fallback in turn.

    A failure that leaves as an error response is accounted for here; successful
    responses account for themselves (streams only know their usage at the end).
    """
    resolution: Resolution | None = None
    try:
        if validate is not None:
            validate(call.body)
        resolution = call.resolve(require_model(call.body))
        await call.admit(resolution)
        response = await _dispatch_with_fallbacks(call, dispatch, resolution)
    except GatewayError as error:
        call.record(resolution, error.status, None, streamed=call.streamed, error=error.message)
        raise
    if call.group_call is not None and not isinstance(response, StreamingHttpResponse):
        call.group_call.end()  # a whole answer: done (a stream ends when it is accounted)
    trace_answer(response)
    recorded = call.recorded
    # A whole answer was accounted before it left: its cost goes with it. A stream's
    # cost is known only at its end (usage records, the access line, metrics).
    if recorded is not None and not isinstance(response, StreamingHttpResponse) and not recorded.unpriced:
        response[COST_HEADER] = cost_text(recorded.cost_usd)
    return response


async def _dispatch_with_fallbacks(
    call: ProxyCall, dispatch: Dispatch, resolution: Resolution
) -> HttpResponseBase:
    """The resolved target, then its fallbacks in order. A fallback that cannot be
    resolved (inactive provider, not allowed for the team) or fails too is skipped;
    when none serves, the client gets the target's own error, not a fallback's."""
    if resolution.group is not None:
        return await dispatch_group(
            call,
            dispatch,
            resolution,
            resolution.group,
            resolve_fallback=_resolve_fallback,
            fallback_statuses=FALLBACK_STATUSES,
        )
    try:
        return await dispatch(call, resolution)
    except GatewayError as error:
        if error.status in FALLBACK_STATUSES and resolution.fallbacks and not isinstance(error, HookFailure):
            original = error
        elif (noted := _with_prefix_note(error, resolution)) is not error:
            raise noted from error
        else:
            raise
    # Logged: the model part as usage records keep it (never a key pasted as a model name).
    failed = f"{resolution.provider.name}:{call.shown_model(resolution.upstream_model)}"
    status = original.status
    for target in resolution.fallbacks:
        try:
            fallback = _resolve_fallback(call, target)
        except GatewayError as unresolvable:
            logger.warning("fallback %s skipped: %s", target, unresolvable.message)
            continue
        logger.warning("%s failed with %s; falling back to %s", failed, status, target)
        trace_fallback(target)
        try:
            return await dispatch(call, fallback)
        except GatewayError as error:
            failed = f"{fallback.provider.name}:{call.shown_model(fallback.upstream_model)}"
            status = error.status
    logger.warning("%s failed with %s; no fallback left", failed, status)
    raise original


def _resolve_fallback(call: ProxyCall, target: str) -> Resolution:
    """A fallback names its provider: one that is not configured is no model id of the
    default provider (as a client's ``llama3:8b`` would be) but an unusable fallback."""
    resolution = call.resolve(target)
    if resolution.prefix_note:
        raise GatewayError(400, resolution.prefix_note)
    return resolution


def _with_prefix_note(error: GatewayError, resolution: Resolution) -> GatewayError:
    """A 400/404 for ``opnai:gpt-4o`` says that 'opnai' is no provider (a likely typo)."""
    if error.status not in (400, 404) or not resolution.prefix_note:
        return error
    return dataclasses.replace(error, message=f"{error.message} (note: {resolution.prefix_note})")


def compact_json(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return HttpResponse(
        compact_json(payload), status=status, content_type="application/json", headers=headers
    )


def served_by(resolution: Resolution) -> dict[str, str]:
    """Response headers naming the target that answered (after any fallback)."""
    return {"x-vandamme-provider": resolution.provider.name, "x-vandamme-model": resolution.upstream_model}


def provider_secrets(resolution: Resolution) -> tuple[str, ...]:
    return tuple(key.secret for key in resolution.provider.keys)


async def post_upstream(
    call: ProxyCall, resolution: Resolution, *, url: str, body: object, stream: bool
) -> OpenedUpstream:
    """POST ``body`` (JSON) to ``url`` with key rotation and retries (``routing.failover``)."""
    provider = resolution.provider
    if (chain := call.chain_for(resolution)) is not None:  # middleware request hooks (routing.middleware)
        body = await run_request_hooks(chain.request, call.hook_run(resolution), body)
    return await open_upstream(
        UpstreamRequest(
            provider=provider,
            method="POST",
            url=url,
            body=compact_json(body),
            headers=base_headers(provider, call.client_headers, stream=stream),
            client_key=call.auth.forwardable_key,
            stream=stream,
            client_retrying=client_is_retrying(call.client_headers.get(CLIENT_RETRY_COUNT_HEADER)),
        )
    )
