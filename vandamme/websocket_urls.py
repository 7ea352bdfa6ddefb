"""WebSocket routes (consumers for live views)."""

from typing import Any

from django.urls import path

from dashboard.consumers import SOCKET_PATH, LiveStreamsConsumer

websocket_urlpatterns: list[Any] = [path(SOCKET_PATH, LiveStreamsConsumer.as_asgi())]
