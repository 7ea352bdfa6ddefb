"""A fresh, empty PostgreSQL database for tests that run gateways as separate processes.

On the PostgreSQL pass (``DATABASE_URL=postgres://…``) a new database is created on that
server and dropped after. Otherwise a throwaway cluster is started with the same script
CI uses (``scripts/_postgres.sh``, Debian's packages), so these tests run on the SQLite
pass too rather than being skipped there.
"""

import os
import subprocess
import uuid
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.integration.gateway import REPO_ROOT

CLUSTER_START_SECONDS = 120


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class PostgresDatabase:
    """``with PostgresDatabase() as url:`` the URL of an empty database of its own."""

    def __init__(self) -> None:
        self.name = f"vandamme_{uuid.uuid4().hex[:12]}"
        self.cluster: subprocess.Popen[str] | None = None
        self.server_url = ""

    def __enter__(self) -> str:
        configured = os.environ.get("DATABASE_URL", "")
        self.server_url = configured if configured.startswith("postgres") else self._start_cluster()
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        return _with_database(self.server_url, self.name)

    def _start_cluster(self) -> str:
        # The shell keeps the cluster until its stdin closes; its EXIT trap stops and removes it.
        script = 'source scripts/_postgres.sh >&2 && echo "$DATABASE_URL" && read -r _'
        self.cluster = subprocess.Popen(
            ["bash", "-c", script],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.cluster.stdout is not None
        url = self.cluster.stdout.readline().strip()
        if not url.startswith("postgres"):
            self._stop_cluster()
            raise RuntimeError(f"scripts/_postgres.sh did not start PostgreSQL: {self._stderr()}")
        return url

    def _stderr(self) -> str:
        if self.cluster is None or self.cluster.stderr is None:
            return ""
        return self.cluster.stderr.read()

    def _stop_cluster(self) -> None:
        if self.cluster is None:
            return
        assert self.cluster.stdin is not None
        self.cluster.stdin.close()
        try:
            self.cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.cluster.kill()
            self.cluster.wait()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with psycopg.connect(self.server_url, autocommit=True) as connection:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                connection.execute(drop.format(sql.Identifier(self.name)))
        finally:
            self._stop_cluster()
