"""uvicorn as ``serve`` runs it: the same drain on SIGTERM as ``routing.daphne_server``,
and ``--workers N``.

uvicorn drains by itself: it stops listening, finishes the open requests within
``timeout_graceful_shutdown`` (``VANDAMME_DRAIN_SECONDS``), then its lifespan shutdown runs
``gateway_shutdown``; ``routing.lifespan`` chains the readiness flag onto its SIGTERM
handler, in every worker. One change: after a graceful shutdown uvicorn raises SIGTERM
again, so a finished drain looked like "killed by SIGTERM" to a supervisor;
``GracefulUvicornServer`` exits 0.
"""

import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn
from django.conf import settings
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

APPLICATION = "routing.uvicorn_app:application"  # vandamme.asgi, minus uvicorn's access line
LISTEN_BACKLOG = 2048  # pending connections the kernel queues (daphne's is set to match)


class GracefulUvicornServer(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:  # a drain is the expected end: exit 0, do not re-raise
            self._captured_signals.remove(sig)


@contextlib.contextmanager
def multiprocess_metrics_dir() -> Iterator[str]:
    """prometheus-client's multiprocess directory for uvicorn's workers (they inherit the
    environment): the configured one emptied, else a fresh temporary one removed at exit.
    Stale files from an earlier run would add old counts to every scrape."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    directory = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="vandamme-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    try:
        yield str(directory)
    finally:
        if not configured:
            shutil.rmtree(directory, ignore_errors=True)


def run_uvicorn(*, host: str, port: int, workers: int) -> None:
    config = uvicorn.Config(
        APPLICATION,
        host=host,
        port=port,
        # Lifespan on: its shutdown event runs gateway_shutdown; "on", not "auto", so an
        # application that cannot answer it fails at startup.
        lifespan="on",
        access_log=False,
        backlog=LISTEN_BACKLOG,
        timeout_graceful_shutdown=math.ceil(settings.VANDAMME_DRAIN_SECONDS),
        workers=workers,
    )
    if workers > 1:
        # The supervisor forwards SIGTERM to every worker, waits for their drains, exits 0.
        with multiprocess_metrics_dir():
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = GracefulUvicornServer(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
