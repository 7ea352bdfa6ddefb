"""A fleet on this machine: gateway processes sharing one PostgreSQL database (and a
Redis when given), set up as a deploy would: ``migrate`` and ``load_config`` as a job,
then replicas started with ``serve --skip-load``; plus a REST API client for a staff token."""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.postgres_server import PostgresServer, create_database

_databases = itertools.count()

MAKE_STAFF = "from django.contrib.auth.models import User; User.objects.create_user('ops', is_staff=True)"


class Fleet:
    def __init__(self, tmp_path: Path, postgres: PostgresServer, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        database = create_database(postgres, f"fleet_{os.getpid()}_{next(_databases)}")
        self.env = {"DATABASE_URL": database, **env}
        self.gateways: list[GatewayProcess] = []

    def manage(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``manage.py`` with the fleet's environment (what a deploy job runs)."""
        environment = GatewayProcess(self.tmp_path, {**self.env, **(env or {})}).env
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def deploy_job(self) -> str:
        """Migrate, load the environment's configuration, make a staff API token; the token."""
        for command in (("migrate", "--no-input"), ("load_config",), ("shell", "-c", MAKE_STAFF)):
            done = self.manage(*command)
            assert done.returncode == 0, done.stderr
        done = self.manage("create_api_token", "ops")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def start(
        self,
        server: str = "daphne",
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = ("--skip-load",),
    ) -> GatewayProcess:
        """A replica (``serve --skip-load``, the fleet's replica mode, unless ``args`` say otherwise)."""
        gateway = GatewayProcess(self.tmp_path, {**self.env, **(env or {})}, server=server, args=args)
        self.gateways.append(gateway)
        gateway.start()
        return gateway

    def stop(self) -> None:
        for gateway in self.gateways:
            gateway.stop()


def api_client(gateway: GatewayProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=gateway.base_url, headers={"authorization": f"Bearer {token}"}, timeout=10)
