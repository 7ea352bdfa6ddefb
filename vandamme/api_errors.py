"""JSON errors for the management API (``/api/``), never Django's HTML error page.

- ``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``): DRF's own answer for the
  exceptions it knows; a database error answers 503 (the change was not made: try again);
  anything else 500. Both are logged with their traceback, as Django logs a 500; the
  answer says nothing of the cause (it could carry driver text or a secret).
- ``server_error`` / ``not_found`` (the root URLconf's ``handler500``/``handler404``):
  for errors outside DRF's views, JSON under ``/api/``, Django's pages elsewhere.
"""

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("vandamme.api")

API_PREFIX = "/api/"


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
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request, template_name)


def not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, template_name)
