"""JSON errors for the management API (``/api/``), never Django's HTML error page.

- ``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``): DRF's own answer for the
  exceptions it knows; a database error answers 503 (the change was not made: try again);
  anything else 500. Both are logged with their traceback, as Django logs a 500; the
  answer says nothing of the cause (it could carry driver text or a secret).
- ``server_error`` / ``not_found`` / ``bad_request`` / ``permission_denied`` (the root
  URLconf's handlers) and ``csrf_failure`` (``CSRF_FAILURE_VIEW``): for errors outside
  DRF's views, JSON under ``/api/``, Django's pages elsewhere.
- ``vandamme.api_paths.ApiCommonMiddleware``: a write to an API path without its
  trailing slash.
"""

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from vandamme.api_paths import is_api_path

logger = logging.getLogger("vandamme.api")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = exception_handler(exc, context)
    if response is not None:
        return response
    request = context.get("request")
    where = f"{request.method} {request.path}" if request is not None else "API"
    if isinstance(exc, DatabaseError):
        logger.error("%s: database error (%s)", where, type(exc).__name__, exc_info=exc)
        return Response({"detail": "The database is unavailable. Try again."}, status=503)
    logger.error("%s: unexpected %s", where, type(exc).__name__, exc_info=exc)
    return Response({"detail": "Internal server error."}, status=500)


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request, template_name)


def not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, template_name)


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(
    request: HttpRequest, exception: Exception, template_name: str = "403.html"
) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse({"detail": "Permission denied."}, status=403)
    return defaults.permission_denied(request, exception, template_name)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)
    return csrf.csrf_failure(request, reason)


class JsonErrorsMixin(APIView):
    """For an API view that renders more than JSON (CSV, the OpenAPI YAML): its errors are
    JSON whatever format was asked for, so a client always reads ``{"detail"/"param": …}``."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response
