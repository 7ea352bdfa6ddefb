"""URL routes: admin, management API (control plane), and the proxy data plane."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

# Registers the API token with the OpenAPI schema. Here, not in an AppConfig.ready():
# the schema is only built through this URLconf, which a data-plane process never loads
# (routing.asgi), so such a process need not import drf-spectacular at all.
import apitokens.schema  # noqa: F401
from vandamme.api_errors import JsonErrorsMixin


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """The OpenAPI schema (YAML or JSON); its errors in JSON, as the rest of the API's."""


api_patterns: list[URLPattern | URLResolver] = [
    path("", include("providers.api.urls")),
    path("", include("aliases.api.urls")),
    path("", include("teams.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("audit.api.urls")),
    path("schema/", SchemaView.as_view(), name="api-schema"),
]

urlpatterns = [
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("", include("routing.urls")),
]

# JSON under /api/ for errors raised outside DRF's views (vandamme.api_errors).
handler400 = "vandamme.api_errors.bad_request"
handler403 = "vandamme.api_errors.permission_denied"
handler404 = "vandamme.api_errors.not_found"
handler500 = "vandamme.api_errors.server_error"
