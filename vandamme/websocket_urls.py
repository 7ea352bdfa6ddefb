"""WebSocket routes (consumers for live views)."""

from typing import Any

websocket_urlpatterns: list[Any] = []
