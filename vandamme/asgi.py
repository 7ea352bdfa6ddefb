"""ASGI entry point: Channels routes HTTP and WebSocket.

HTTP is split in two Django handlers that share one URLconf:
- the data plane (``/v1/…``, ``/health``, ``/``) runs with ``VANDAMME_DATA_PLANE_MIDDLEWARE``
  (empty by default): Django's session/auth/CSRF middleware are sync and would cost a
  thread hop per proxied request, and the proxy authenticates with gateway keys anyway;
- everything else (admin, REST API) runs with the full ``MIDDLEWARE`` stack.
Lifespan events (uvicorn) go to ``routing.lifespan``, which closes the upstream clients.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vandamme.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from pricing.genai import warm_in_background  # noqa: E402
from routing.asgi import DataPlaneASGIHandler, split_planes  # noqa: E402
from routing.lifespan import lifespan  # noqa: E402
from routing.tracing import configure_tracing  # noqa: E402
from vandamme.websocket_urls import websocket_urlpatterns  # noqa: E402

# genai-prices' data (~0.5 s to load) is read while the server starts, not in the first
# request's snapshot build.
warm_in_background()
# OpenTelemetry traces when OTEL_* asks for them (each process: uvicorn workers import this).
configure_tracing()

application = ProtocolTypeRouter(
    {
        "http": split_planes(data_plane=DataPlaneASGIHandler(), control_plane=django_asgi_app),
        # Staff only, by the admin session; the origin must be an allowed host.
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        # Startup and shutdown (uvicorn sends these; daphne does not, serve hooks its reactor).
        "lifespan": lifespan,
    }
)
