"""Start the gateway: check the database and Redis, migrate, load env/TOML configuration,
serve ASGI.

One machine (``scripts/start``, SQLite): migrations run when some are pending and the
environment and TOML files are loaded. A fleet runs ``migrate`` and ``load_config`` as a
deploy step and its replicas ``serve --skip-load``: they neither load nor migrate (unless
``--migrate``); on a shared database plain ``serve`` does not load either, unless
``--load`` (``routing.startup``). Migrations run under a PostgreSQL advisory lock either way, so replicas
that start together on a fresh database migrate once (without it, the second one crashed
on a UniqueViolation in ``django_migrations``).
"""

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor

from providers.config_sync import ApplyReport
from routing.gateway_address import record_listening
from routing.start_report import Listening, start_report
from routing.startup import load_decision, shared_changes_warnings, startup_checks
from vandamme.configuration import config_load_from_disk

# pg_advisory_lock's key for "migrating": any 64-bit number other code does not use.
MIGRATION_LOCK_KEY = 0x76616E64616D6D65  # "vandamme"


def _has_pending_migrations() -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@contextlib.contextmanager
def _migration_lock() -> Iterator[None]:
    """One migrating process at a time per PostgreSQL database. The lock is held on a
    connection of its own, so nothing migrate does to the default one can release it.
    SQLite: one file, one process, nothing to hold."""
    if connection.vendor != "postgresql":
        yield
        return
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            yield
        finally:
            with holder.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
    finally:
        holder.close()


def migrate_if_pending() -> None:
    with _migration_lock():  # the check inside: the process that waited finds nothing left
        if _has_pending_migrations():
            call_command("migrate", interactive=False, verbosity=1)


class Command(BaseCommand):
    help = "Migrate if needed, load configuration from the environment and TOML files, then serve."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne")
        parser.add_argument(
            "--skip-load",
            action="store_true",
            help="Fleet replica: serve the database as it is (no env/TOML load, no migrate).",
        )
        parser.add_argument(
            "--load",
            action="store_true",
            help="Load env/TOML even on a shared database (by default only on SQLite; see README, Deploy).",
        )
        parser.add_argument(
            "--migrate", action="store_true", help="Apply pending migrations (under a database lock)."
        )
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (one per core).")
        # Internal: the fresh process that only serves (see _exec_server).
        parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)

    def _write_start_report(self, applied: ApplyReport | None, listening: Listening) -> None:
        report = start_report(applied, listening)
        self.stdout.write("\n".join(report.lines))
        for warning in report.warnings:
            self.stderr.write(self.style.ERROR(warning))

    def handle(self, *args: Any, **options: Any) -> None:
        server, workers = options["server"], options["workers"]
        _check_workers(server, workers)
        if options["serve_only"]:
            _serve(server, options["host"], options["port"], workers)
            return
        startup_checks()  # one clear line and exit 1 when the database or Redis is unusable
        if options["migrate"] or not options["skip_load"]:
            migrate_if_pending()
        elif _has_pending_migrations():
            raise CommandError(
                "the database has unapplied migrations: run `manage.py migrate` "
                "(the deploy's migrate step) or start with --migrate"
            )
        load, note = load_decision(load=options["load"], skip_load=options["skip_load"])
        applied = None
        if load:
            applied = config_load_from_disk()
            for warning in shared_changes_warnings(applied.changes):
                self.stderr.write(self.style.WARNING(warning))
        else:
            self.stdout.write(note)
        self._write_start_report(applied, Listening(options["host"], options["port"]))
        processes = f", {workers} workers" if workers > 1 else ""
        self.stdout.write(
            f"vandamme listening on http://{options['host']}:{options['port']} ({server}{processes})"
        )
        self.stdout.flush()
        connection.close()
        record_listening(options["host"], options["port"])  # for `manage.py claude` / `codex`
        _exec_server(server, options["host"], options["port"], workers)


def _check_workers(server: str, workers: int) -> None:
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if workers > 1 and server == "daphne":
        raise CommandError(
            "daphne runs one process: use --server uvicorn --workers N for several cores "
            "(or run several daphne processes behind a load balancer)"
        )


def _exec_server(server: str, host: str, port: int, workers: int) -> None:
    """Serve from a fresh process: what migrate and load_config imported and allocated
    (about 14 MiB) is not carried into the long-running server."""
    manage_py = str(settings.BASE_DIR / "manage.py")
    # --skip-checks: this process ran them; the URL check would import the control
    # plane's URLconf (admin, DRF, drf-spectacular: ~17 MiB) into the data-plane server.
    manage = [sys.executable, manage_py, "serve", "--serve-only", "--skip-checks"]
    manage += ["--server", server, "--host", host, "--port", str(port), "--workers", str(workers)]
    os.execvp(sys.executable, manage)  # noqa: S606


def _serve(server: str, host: str, port: int, workers: int) -> None:
    if server == "uvicorn":
        from routing.uvicorn_server import run_uvicorn

        run_uvicorn(host=host, port=port, workers=workers)
        return
    from routing.daphne_server import run_daphne  # installs Twisted's reactor: daphne only

    run_daphne(host=host, port=port)
