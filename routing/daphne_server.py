"""daphne with SIGTERM as a drain (see ``routing.uvicorn_server`` for the other server).

daphne (Twisted) stops its reactor on SIGTERM, and its "before shutdown" trigger cancels
every open application at once: open streams were cut (10/10, their usage recorded as
499). ``DrainingDaphneServer`` takes SIGTERM over: ``/ready`` answers 503 at once, it
stops listening, waits up to ``VANDAMME_DRAIN_SECONDS`` for the open HTTP requests
(WebSockets, the dashboard's live view, do not hold the drain), then stops the reactor,
whose shutdown trigger writes the buffered usage and closes the upstream clients; the
process exits 0. A second SIGTERM stops it at once.

Importing this module installs Twisted's asyncio reactor (``daphne.cli`` does).
"""

import asyncio
import logging
import signal
import time
from types import FrameType
from typing import Any, cast

from daphne.cli import CommandLineInterface  # installs Twisted's asyncio reactor
from daphne.server import Server as DaphneServer
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.internet import defer
from twisted.internet import reactor as twisted_reactor

from routing.lifespan import gateway_shutdown
from routing.readiness import readiness_begin_drain
from routing.server_limits import raise_twisted_header_limits

logger = logging.getLogger(__name__)

APPLICATION = "vandamme.asgi:application"
LISTEN_BACKLOG = 2048  # pending connections the kernel queues (uvicorn's default too)
DRAIN_POLL_SECONDS = 0.1
reactor = cast(Any, twisted_reactor)  # zope interfaces declare methods without ``self``


class DrainingDaphneServer(DaphneServer):
    """daphne's server, with SIGTERM as a drain rather than an immediate stop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []
        self.drain_deadline: float | None = None

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def run(self) -> None:
        # After the reactor's own handlers are installed (during startup): replace SIGTERM's.
        reactor.callWhenRunning(self._take_over_sigterm)
        super().run()

    def _take_over_sigterm(self) -> None:
        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            reactor.callFromThread(self.drain)  # wakes the reactor, as Twisted's own handler

        signal.signal(signal.SIGTERM, on_sigterm)

    def drain(self) -> None:
        if self.drain_deadline is not None:
            self.stop()  # a second SIGTERM: stop now
            return
        readiness_begin_drain()
        grace = settings.VANDAMME_DRAIN_SECONDS
        self.drain_deadline = time.monotonic() + grace
        for port in self.ports:
            port.stopListening()
        logger.info("SIGTERM: draining %d open requests (at most %g s)", self.open_requests(), grace)
        self._stop_when_drained()

    def open_requests(self) -> int:
        return sum(
            1
            for protocol, details in list(self.connections.items())
            if not isinstance(protocol, WebSocketProtocol)
            and details.get("application_instance") is not None
            and not details["application_instance"].done()
        )

    def _stop_when_drained(self) -> None:
        assert self.drain_deadline is not None  # noqa: S101  (set by drain)
        left = self.open_requests()
        if left and time.monotonic() < self.drain_deadline:
            reactor.callLater(DRAIN_POLL_SECONDS, self._stop_when_drained)
            return
        if left:
            logger.warning("drain: %d requests still open after the grace; cancelling them", left)
        self.stop()  # the reactor's shutdown triggers write the usage and close clients


class _NoHttp2Notice(logging.Filter):
    """daphne warns "HTTP/2 support not enabled" at every start. The gateway serves plain
    HTTP/1.1 on purpose (Claude Code and the SDKs speak it; TLS and HTTP/2 end at a
    reverse proxy, README "Deploy"), so the notice is dropped rather than worried about."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("HTTP/2 support not enabled")


class DrainingCommandLineInterface(CommandLineInterface):
    server_class = DrainingDaphneServer


def run_daphne(*, host: str, port: int) -> None:
    raise_twisted_header_limits()  # a 431, not a closed connection, for large headers
    logging.getLogger("daphne.server").addFilter(_NoHttp2Notice())

    def shut_down() -> defer.Deferred[None]:
        return defer.Deferred.fromFuture(asyncio.ensure_future(gateway_shutdown()))

    # daphne sends no ASGI lifespan events: the gateway's shutdown runs on the reactor's
    # loop before it stops, as uvicorn's lifespan shutdown does.
    reactor.addSystemEventTrigger("before", "shutdown", shut_down)
    # An endpoint string, not -b/-p: daphne's default listen backlog is 50, and a burst
    # of new connections beyond it is reset (bench/: 1 000 concurrent streams).
    interface = host.replace(":", "\\:")  # IPv6 colons are escaped in endpoint strings
    endpoint = f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"
    # -v 0: no daphne access line on stdout; the gateway writes its own (vandamme.access),
    # with the request id, and uvicorn runs without its access log for the same reason.
    DrainingCommandLineInterface().run(["-v", "0", "-e", endpoint, APPLICATION])
