"""Process shutdown: what the gateway does before its event loop stops, for both servers.

uvicorn sends ASGI lifespan events; ``lifespan`` answers them and runs ``gateway_shutdown``
on ``lifespan.shutdown``, after uvicorn has finished the open requests. daphne sends none:
``serve`` runs the same ``gateway_shutdown`` from a Twisted "before shutdown" trigger.
Lifespan is a scope of its own, routed by type: an HTTP request never reaches this code.
At lifespan startup the readiness flag is chained onto uvicorn's SIGTERM handler, so
``/ready`` answers 503 from the signal on, in every worker (``routing.uvicorn_server``).

The buffered usage records are written here too, not left to the ``atexit`` hook of
``routing.usage``: after a graceful shutdown on SIGTERM uvicorn raises the signal again
with its default handler, so the process ends without running ``atexit`` hooks.
"""

import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from routing.readiness import readiness_begin_drain
from routing.token_worker import token_worker
from routing.tracing import shutdown_tracing
from routing.upstream import close_upstream_clients
from routing.usage import usage_recorder

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


async def gateway_shutdown() -> None:
    """Close the pooled upstream clients on the running loop (else aiohttp warns
    "Unclosed client session" for each one at exit) and write the buffered usage (or
    spool it to local disk if the database is unreachable), stop the token count's
    helper process (else it outlives the gateway by up to its idle delay), and export
    the trace spans still queued."""
    await close_upstream_clients()
    await usage_recorder.shutdown()
    await token_worker.shutdown()
    await shutdown_tracing()  # the spans still queued, after the last request's


def mark_not_ready_on_sigterm() -> None:
    """Put the readiness flag in front of the server's SIGTERM handler (uvicorn installs
    its own with ``signal.signal`` before lifespan startup; it restores the previous one
    after its shutdown, which drops this one too)."""
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous) or threading.current_thread() is not threading.main_thread():
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        readiness_begin_drain()
        previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol: nothing to do at startup, ``gateway_shutdown`` at shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            mark_not_ready_on_sigterm()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await gateway_shutdown()
            except Exception as error:
                logger.exception("shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": str(error)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return
