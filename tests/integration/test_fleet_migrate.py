"""Replicas starting together on a fresh PostgreSQL database migrate it once, under an
advisory lock (before: the second crashed on a UniqueViolation in ``django_migrations``);
a fleet replica (``serve --skip-load``) never migrates unless asked."""

import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.postgres_database import PostgresDatabase

pytestmark = pytest.mark.integration

REPLICAS = 2
START_SECONDS = 240  # migrating PostgreSQL from scratch takes ~25 s here, the second waits for it


def _start(gateway: GatewayProcess, errors: list[BaseException]) -> None:
    try:
        gateway.start(timeout=START_SECONDS)
    except BaseException as error:  # reported by the test, with the replica's log
        errors.append(error)


def test_replicas_starting_together_migrate_a_fresh_database_once(tmp_path: Path) -> None:
    with PostgresDatabase() as database_url:
        env = {"DATABASE_URL": database_url, "OPENAI_API_KEY": "sk-fleet-test"}
        replicas = []
        for index in range(REPLICAS):
            (tmp_path / str(index)).mkdir()
            replicas.append(GatewayProcess(tmp_path / str(index), env, args=["--migrate"]))
        errors: list[BaseException] = []
        threads = [threading.Thread(target=_start, args=(replica, errors)) for replica in replicas]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=START_SECONDS + 10)
            logs = [replica.log() for replica in replicas]
            assert errors == [], logs
            assert all(replica.process and replica.process.poll() is None for replica in replicas)
        finally:
            for replica in replicas:
                replica.stop()
        with psycopg.connect(database_url) as connection:
            applied = connection.execute(
                "SELECT count(*), count(DISTINCT (app, name)) FROM django_migrations"
            )
            total, distinct = applied.fetchone() or (0, 0)
    assert total == distinct > 0
    assert sum("Applying " in log for log in logs) == 1, logs  # one replica migrated
    assert not any("Traceback" in log for log in logs), logs


def test_a_fleet_replica_does_not_migrate_unless_asked(tmp_path: Path) -> None:
    with PostgresDatabase() as database_url:
        env = {"DATABASE_URL": database_url, "HOME": str(tmp_path), "PATH": ""}
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--skip-load"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        with psycopg.connect(database_url) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
    assert result.returncode != 0
    assert "unapplied migrations: run `manage.py migrate`" in result.stderr
    assert "Traceback" not in result.stderr
    assert tables == (0,)
