"""Data-plane views: authenticate → parse → call the proxy → respond. Thin and async."""

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from routing.auth import authenticate
from routing.calls import ProxyCall, json_response
from routing.catalog import anthropic_model_list, openai_model_list
from routing.doors.chat_completions import proxy_chat_completions
from routing.doors.messages import proxy_count_tokens, proxy_messages
from routing.doors.responses import proxy_responses
from routing.errors import (
    GatewayError,
    anthropic_error_body,
    openai_error_body,
    openai_status,
)
from routing.formats import Door, upstream_wire
from routing.groups.state import group_router
from routing.groups.strategies import choice_summary
from routing.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from routing.metrics import render_metrics
from routing.readiness import readiness_check
from routing.request_checks import check_forwarded_headers, parse_request_json
from routing.request_context import note_error
from routing.resolution import resolve_model
from routing.snapshot import routing_snapshot

logger = logging.getLogger(__name__)

AsyncView = Callable[[HttpRequest], Coroutine[Any, Any, HttpResponseBase]]


def anthropic_error_response(error: GatewayError) -> HttpResponse:
    note_error(error.message)
    return json_response(anthropic_error_body(error), status=error.status, headers=error.headers)


def openai_error_response(error: GatewayError) -> HttpResponse:
    note_error(error.message)
    return json_response(openai_error_body(error), status=openai_status(error), headers=error.headers)


def _client_dialect_error_response(request: HttpRequest, error: GatewayError) -> HttpResponse:
    # Anthropic clients send anthropic-version; everyone else is taken for an OpenAI client.
    if "anthropic-version" in request.headers:
        return anthropic_error_response(error)
    return openai_error_response(error)


def door_error_response(path: str, *, anthropic_client: bool, error: GatewayError) -> HttpResponse:
    """An error for a request refused before it has a view (headers or body too large):
    the dialect of the door it was sent to, else the client's."""
    openai_door = path.startswith(("/v1/chat/", "/v1/responses"))
    if path.startswith("/v1/messages") or (anthropic_client and not openai_door):
        return anthropic_error_response(error)
    return openai_error_response(error)


ErrorRenderer = Callable[[HttpRequest, GatewayError], HttpResponse]


def _rendering_errors(render: ErrorRenderer) -> Callable[[AsyncView], AsyncView]:
    """Every failure leaves as error JSON of the client's dialect with the right status;
    never a traceback."""

    def decorate(view: AsyncView) -> AsyncView:
        @wraps(view)
        async def wrapper(request: HttpRequest) -> HttpResponseBase:
            try:
                return await view(request)
            except GatewayError as error:
                return render(request, error)
            except RequestDataTooBig:
                return render(request, GatewayError(413, "request body is larger than the gateway accepts"))
            except Exception:
                logger.exception("unhandled error in %s", request.path)
                return render(request, GatewayError(500, "internal gateway error"))

        return csrf_exempt(wrapper)

    return decorate


anthropic_errors = _rendering_errors(lambda request, error: anthropic_error_response(error))
openai_errors = _rendering_errors(lambda request, error: openai_error_response(error))
client_dialect_errors = _rendering_errors(_client_dialect_error_response)


def _require_post(request: HttpRequest) -> None:
    if request.method != "POST":
        raise GatewayError(
            405, f"method {request.method} not allowed; use POST", error_type="invalid_request_error"
        )


async def _proxy_call(request: HttpRequest, door: Door) -> ProxyCall:
    _require_post(request)
    table = await routing_snapshot.get()
    auth = authenticate(request.headers, table)
    check_forwarded_headers(request.headers)
    body = parse_request_json(request.body)
    return ProxyCall(body, request.headers, auth, table, body_size=len(request.body), door=door)


@anthropic_errors
async def messages(request: HttpRequest) -> HttpResponseBase:
    return await proxy_messages(await _proxy_call(request, Door.MESSAGES))


@anthropic_errors
async def count_tokens(request: HttpRequest) -> HttpResponseBase:
    return await proxy_count_tokens(await _proxy_call(request, Door.MESSAGES))


@openai_errors
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    return await proxy_chat_completions(await _proxy_call(request, Door.CHAT_COMPLETIONS))


@openai_errors
async def responses(request: HttpRequest) -> HttpResponseBase:
    return await proxy_responses(await _proxy_call(request, Door.RESPONSES))


@client_dialect_errors
async def models(request: HttpRequest) -> HttpResponseBase:
    """The models and aliases vandamme knows: Anthropic's list format for Anthropic
    clients (they send ``anthropic-version``), OpenAI's for everyone else."""
    table = await routing_snapshot.get()
    authenticate(request.headers, table)
    if "anthropic-version" in request.headers:
        return json_response(anthropic_model_list(table))
    return json_response(openai_model_list(table))


@anthropic_errors
async def resolve(request: HttpRequest) -> HttpResponseBase:
    """``GET /v1/vandamme/resolve?model=NAME``: how NAME resolves, step by step."""
    table = await routing_snapshot.get()
    auth = authenticate(request.headers, table)
    name = request.GET.get("model", "")
    resolution = resolve_model(name, table, auth.team.aliases if auth.team else None, group_router)
    group = resolution.group
    return json_response(
        {
            "model": name,
            "provider": resolution.provider.name,
            "api_format": resolution.provider.api_format,
            "family": resolution.provider.family,
            # The wire format each front door speaks to this provider (its table's cell).
            "wire": {door.value: upstream_wire(door, resolution.provider).value for door in Door},
            "upstream_model": resolution.upstream_model,
            "steps": list(resolution.steps),
            "fallbacks": list(resolution.fallbacks),
            # A model group: its targets, their breakers, and the order this request would get.
            "group": choice_summary(group, group_router.breaker_state) if group is not None else None,
        }
    )


@client_dialect_errors
async def not_found(request: HttpRequest) -> HttpResponseBase:
    """Any other ``/v1/…`` path: a 404 in the client's dialect, not Django's HTML page."""
    raise GatewayError(404, f"no such endpoint: {request.method} {request.path}")


async def root(request: HttpRequest) -> HttpResponse:
    """Claude Code probes the base URL (``HEAD /``) before its first call."""
    return JsonResponse({"name": "vandamme", "status": "ok"})


async def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process serves requests. No database access."""
    return JsonResponse({"status": "ok"})


async def ready(request: HttpRequest) -> HttpResponse:
    """Readiness: database, Redis (when configured) and the providers; 503 when not ready."""
    readiness = await readiness_check()
    return JsonResponse(readiness.as_dict(), status=200 if readiness.ready else 503)


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; in memory only (see ``routing.metrics``)."""
    return HttpResponse(render_metrics(), content_type=METRICS_CONTENT_TYPE)
