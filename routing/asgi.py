"""The data-plane ASGI handler and the split between data and control planes."""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]

DATA_PLANE_PREFIXES = ("/v1/", "/health", "/ready")


class DataPlaneASGIHandler(ASGIHandler):
    """Django's ASGI handler with the lean data-plane middleware list."""

    def load_middleware(self, is_async: bool = False) -> None:
        original = settings.MIDDLEWARE
        try:
            settings.MIDDLEWARE = settings.VANDAMME_DATA_PLANE_MIDDLEWARE
            BaseHandler.load_middleware(self, is_async=is_async)
        finally:
            settings.MIDDLEWARE = original


def is_data_plane(path: str) -> bool:
    return path == "/" or path.startswith(DATA_PLANE_PREFIXES)


def split_planes(*, data_plane: ASGIApp, control_plane: ASGIApp) -> ASGIApp:
    async def app(
        scope: Scope, receive: Callable[..., Awaitable[Any]], send: Callable[..., Awaitable[Any]]
    ) -> None:
        target = data_plane if is_data_plane(scope.get("path", "")) else control_plane
        await target(scope, receive, send)

    return app
