"""Which paths are the management API's, and Django's ``CommonMiddleware`` made to answer
JSON there. Imports no DRF: every process loads its middleware, the data plane included."""

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.middleware.common import CommonMiddleware

API_PREFIX = "/api/"
# Methods a redirect may repeat without a body to lose.
SAFE_TO_REDIRECT = ("GET", "HEAD", "OPTIONS")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


class ApiCommonMiddleware(CommonMiddleware):
    """A write to an API path without its trailing slash is a JSON 404 naming the right
    path: Django would redirect it (and the client lose its body) or, with DEBUG, raise
    a 500 page."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            response.status_code == 404
            and is_api_path(request.path_info)
            and request.method not in SAFE_TO_REDIRECT
            and self.should_redirect_with_slash(request)
        ):
            detail = f"Not found. API paths end with a slash: {request.path}/"
            return JsonResponse({"detail": detail}, status=404)
        return super().process_response(request, response)
