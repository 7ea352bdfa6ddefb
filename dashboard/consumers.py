"""The dashboard's live view: streams in flight, pushed to staff over a WebSocket.

Authenticated by the admin session (``AuthMiddlewareStack`` in ``vandamme.asgi``);
anyone else is refused. Every ``PUSH_SECONDS`` the consumer sends the streams this
process relays and the totals over all processes (from the metrics, which sum across
processes in multiprocess mode).
"""

import asyncio
import contextlib
import json
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from routing.metrics import active_stream_counts
from routing.stream_watch import live_streams

SOCKET_PATH = "admin/dashboard/streams"
PUSH_SECONDS = 1.0
LISTED_STREAMS = 50


def live_streams_message() -> dict[str, Any]:
    now = time.time()
    streams = sorted(live_streams, key=lambda watch: watch.opened_at)[:LISTED_STREAMS]
    totals = [
        {"provider": provider, "model": model, "team": team, "streams": count}
        for (provider, model, team), count in sorted(active_stream_counts().items())
    ]
    return {
        "type": "streams",
        "total": sum(item["streams"] for item in totals),
        "totals": totals,
        "streams": [
            {
                "request_id": watch.request_id,
                "provider": watch.provider,
                "model": watch.model,
                "team": watch.team,
                "running_s": round(now - watch.opened_at, 1),
                "ttft_ms": watch.ttft_ms,
            }
            for watch in streams
        ],
    }


class LiveStreamsConsumer(AsyncWebsocketConsumer):
    pusher: "asyncio.Task[None] | None" = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not (user.is_active and user.is_staff):
            await self.close(code=4403)
            return
        await self.accept()
        self.pusher = asyncio.create_task(self._push_forever())

    async def disconnect(self, code: int) -> None:
        if self.pusher is not None:
            self.pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pusher

    async def _push_forever(self) -> None:
        while True:
            await self.send(text_data=json.dumps(live_streams_message()))
            await asyncio.sleep(PUSH_SECONDS)
