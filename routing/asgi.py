"""The data-plane ASGI handler and the split between data and control planes.

``DataPlaneASGIHandler`` is Django's ``ASGIHandler`` trimmed for the proxy path:
- no middleware (``VANDAMME_DATA_PLANE_MIDDLEWARE``, empty by default): Django's
  session/auth/CSRF middleware are sync and would cost a thread hop each, and the proxy
  authenticates with gateway keys anyway;
- no ``request_started``/``request_finished`` signals: their receivers are sync
  (``close_old_connections``, ``reset_queries``) and cost two thread hops per request,
  for database connections the steady-state data plane never opens. The one place
  that does open one (a snapshot rebuild) releases it itself;
- its own URLconf (``routing.urls``): the root one imports the admin, DRF and
  drf-spectacular (and, through DRF, psycopg), about 17 MiB a process that only proxies
  never needs; they load with the first control-plane request instead;
- its fixed paths go straight to their views by a dict lookup: with no middleware,
  Django's resolver and response chain only cost time (about 7 % of the CPU of a proxied
  request), and its thread hop to log every response of 400 or more (a 429 included).
  Other paths (``/v1/…`` not found) still take Django's way.
Disconnects are handled as Django does: a client that goes away cancels the task
serving the response, which cancels the upstream read.

Every request gets a ``RequestScope`` (``routing.request_context``): its id goes out in
the ``x-request-id`` header of every response, streams and errors included, and one
access line is logged once the response is complete.
"""

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, set_script_prefix
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import import_string

from routing.errors import GatewayError
from routing.metrics import observe_request_end
from routing.request_context import begin_request, log_request
from routing.tracing import begin_request_trace, end_request_trace
from routing.views import door_error_response

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
# Loose on purpose: Django's handler and Channels' apps annotate scope/receive differently.
ASGIApp = Callable[..., Awaitable[None]]
AsyncView = Callable[[HttpRequest], Awaitable[HttpResponseBase]]

DATA_PLANE_PREFIXES = ("/v1/", "/health", "/ready", "/metrics")
# All header names and values together. uvicorn (httptools) passes any size; daphne's
# Twisted is raised to SERVER_HEADER_BYTES (routing.server_limits) so both answer this.
MAX_HEADER_BYTES = 32 * 1024
DATA_PLANE_URLCONF = "routing.urls"


def fixed_routes(urlconf: str) -> dict[str, AsyncView]:
    """The paths of ``urlconf`` that take no parameters, with their async views."""
    routes: dict[str, AsyncView] = {}
    for entry in import_string(f"{urlconf}.urlpatterns"):
        if not isinstance(entry, URLPattern) or not isinstance(entry.pattern, RoutePattern):
            continue
        if entry.pattern.converters or not asyncio.iscoroutinefunction(entry.callback):
            continue
        routes.setdefault(f"/{entry.pattern}", entry.callback)
    return routes


class DataPlaneASGIHandler(ASGIHandler):
    """Django's ASGI handler, lean: no middleware, no sync signal receivers."""

    def load_middleware(self, is_async: bool = False) -> None:
        original = settings.MIDDLEWARE
        try:
            settings.MIDDLEWARE = settings.VANDAMME_DATA_PLANE_MIDDLEWARE
            BaseHandler.load_middleware(self, is_async=is_async)
        finally:
            settings.MIDDLEWARE = original
        # Middleware must see every request, so with any configured nothing skips the chain.
        middleware = settings.VANDAMME_DATA_PLANE_MIDDLEWARE
        self.fixed_routes = {} if middleware else fixed_routes(DATA_PLANE_URLCONF)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        async with ThreadSensitiveContext():
            await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        request_scope = begin_request(scope)
        trace = begin_request_trace(scope, request_scope)
        try:
            await self._handle(scope, receive, request_scope.wrap_send(send))
        finally:
            end_request_trace(trace, request_scope)
            observe_request_end(request_scope)
            log_request(request_scope)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            check_request_size(scope)
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        except GatewayError as error:
            await self.send_response(_refusal(scope, error), send)
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                assert error_response is not None  # noqa: S101  (Django returns one or the other)
                await self.send_response(error_response, send)
                return
            request.urlconf = DATA_PLANE_URLCONF  # type: ignore[attr-defined]
            await self._serve_until_done_or_disconnected(request, receive, send)
        finally:
            body_file.close()

    async def read_body(self, receive: Receive) -> tempfile.SpooledTemporaryFile[bytes]:  # type: ignore[override]
        """Django's, but a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused as it
        arrives (a chunked upload has no length to check first), not spooled to the end."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # Returned open, as Django's own: the caller closes it.
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            received += len(chunk)
            if limit is not None and received > limit:
                body_file.close()
                raise body_too_large(limit)
            body_file.write(chunk)
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file

    async def _serve_until_done_or_disconnected(
        self, request: HttpRequest, receive: Receive, send: Send
    ) -> None:
        disconnect = asyncio.create_task(self.listen_for_disconnect(receive))
        serve = asyncio.create_task(self._serve(request, send))
        try:
            await asyncio.wait([disconnect, serve], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (disconnect, serve):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
            # A cancelled task keeps its CancelledError, whose traceback holds this frame,
            # whose locals hold the task: a cycle that kept every request (its body
            # included) until the cyclic collector ran, which an idle process never does
            # (Django ticket #36700). RSS grew by 150 MiB over 3 000 fuzzed requests.
            del task, disconnect, serve, request

    async def _serve(self, request: HttpRequest, send: Send) -> None:
        view = self.fixed_routes.get(request.path_info)
        response = await (view(request) if view is not None else self.get_response_async(request))
        with contextlib.suppress(asyncio.CancelledError):
            await self.send_response(response, send)


def body_too_large(limit: int) -> GatewayError:
    return GatewayError(413, f"request body is larger than the gateway accepts ({limit} bytes)")


def _refusal(scope: Scope, error: GatewayError) -> HttpResponseBase:
    anthropic_client = any(name == b"anthropic-version" for name, _ in scope.get("headers", ()))
    return door_error_response(scope.get("path", ""), anthropic_client=anthropic_client, error=error)


def check_request_size(scope: Scope) -> None:
    """Refuse headers past ``MAX_HEADER_BYTES`` (431) and a declared body past
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) before reading the body."""
    headers = scope.get("headers", ())
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        message = f"request headers are larger than the gateway accepts ({MAX_HEADER_BYTES} bytes)"
        raise GatewayError(431, message)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    for name, value in headers:
        if name == b"content-length":
            if limit is not None and value.isdigit() and int(value) > limit:
                raise body_too_large(limit)
            break


def is_data_plane(path: str) -> bool:
    return path == "/" or path.startswith(DATA_PLANE_PREFIXES)


def split_planes(*, data_plane: ASGIApp, control_plane: ASGIApp) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        target = data_plane if is_data_plane(scope.get("path", "")) else control_plane
        await target(scope, receive, send)

    return app
