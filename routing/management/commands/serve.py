"""Start the gateway: check the database and Redis, migrate if needed, load env/TOML
configuration (on SQLite, or with ``--load``), serve ASGI."""

import argparse
import asyncio
import os
import sys
from typing import Any, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from providers.summary import render_summary_table
from routing.lifespan import gateway_shutdown
from routing.startup import load_decision, shared_changes_warnings, startup_checks
from vandamme.configuration import config_load_from_disk

LISTEN_BACKLOG = 2048  # pending connections the kernel queues (uvicorn's default too)


def _has_pending_migrations() -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class Command(BaseCommand):
    help = "Run migrations if needed, load configuration from the environment and TOML files, then serve."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne")
        parser.add_argument(
            "--skip-load", action="store_true", help="Serve the database as it is (fleet replicas)."
        )
        parser.add_argument(
            "--load",
            action="store_true",
            help="Load env/TOML even on a shared database (by default only on SQLite; see README, Deploy).",
        )
        # Internal: the fresh process that only serves (see _exec_server).
        parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["serve_only"]:
            self._serve_daphne(options["host"], options["port"])
            return
        startup_checks()  # one clear line and exit 1 when the database or Redis is unusable
        if _has_pending_migrations():
            call_command("migrate", interactive=False, verbosity=1)
        load, note = load_decision(load=options["load"], skip_load=options["skip_load"])
        if load:
            report = config_load_from_disk()
            self.stdout.write(render_summary_table(report.results))
            for warning in shared_changes_warnings(report.changes):
                self.stderr.write(self.style.WARNING(warning))
        else:
            self.stdout.write(note)
        self.stdout.write(
            f"vandamme listening on http://{options['host']}:{options['port']} ({options['server']})"
        )
        self.stdout.flush()
        connection.close()
        self._exec_server(options["server"], options["host"], options["port"])

    @staticmethod
    def _exec_server(server: str, host: str, port: int) -> None:
        """Serve from a fresh process: what migrate and load_config imported and allocated
        (about 14 MiB) is not carried into the long-running server."""
        if server == "uvicorn":
            argv = ["uvicorn", "vandamme.asgi:application", "--host", host, "--port", str(port)]
            # Lifespan on: its shutdown event closes the upstream clients (routing.lifespan);
            # "on", not "auto", so an application that cannot answer it fails at startup.
            argv += ["--lifespan", "on", "--no-access-log", "--backlog", str(LISTEN_BACKLOG)]
            os.execvp(sys.executable, [sys.executable, "-m", *argv])  # noqa: S606
        manage_py = str(settings.BASE_DIR / "manage.py")
        # --skip-checks: this process ran them; the URL check would import the control
        # plane's URLconf (admin, DRF, drf-spectacular: ~17 MiB) into the data-plane server.
        manage = [sys.executable, manage_py, "serve", "--serve-only", "--skip-checks"]
        manage += ["--host", host, "--port", str(port)]
        os.execvp(sys.executable, manage)  # noqa: S606

    @staticmethod
    def _serve_daphne(host: str, port: int) -> None:
        from daphne.cli import CommandLineInterface  # installs Twisted's asyncio reactor
        from twisted.internet import defer, reactor

        from routing.server_limits import raise_twisted_header_limits

        raise_twisted_header_limits()

        def shut_down() -> defer.Deferred[None]:
            return defer.Deferred.fromFuture(asyncio.ensure_future(gateway_shutdown()))

        # daphne sends no ASGI lifespan events: run the gateway's shutdown (close the pooled
        # upstream clients, write the buffered usage) on the reactor's loop before it stops,
        # as uvicorn's lifespan shutdown does. (zope interfaces declare methods without
        # ``self``; mypy misreads them.)
        cast(Any, reactor).addSystemEventTrigger("before", "shutdown", shut_down)
        # An endpoint string, not -b/-p: daphne's default listen backlog is 50, and a burst
        # of new connections beyond it is reset (bench/: 1 000 concurrent streams).
        interface = host.replace(":", "\\:")  # IPv6 colons are escaped in endpoint strings
        endpoint = f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"
        # -v 0: no daphne access line on stdout; the gateway writes its own (vandamme.access),
        # with the request id, and uvicorn runs with --no-access-log for the same reason.
        CommandLineInterface().run(["-v", "0", "-e", endpoint, "vandamme.asgi:application"])
