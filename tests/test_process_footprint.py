"""What a process imports: the data plane loads none of the control plane's libraries
(admin URLs, DRF, drf-spectacular, psycopg through DRF) and no process loads Twisted
unless it serves with daphne; ``runserver`` is still daphne's."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.core.management import get_commands, load_command_class

from tests.integration.gateway import REPO_ROOT

# Served in a fresh interpreter: a data-plane request, then (optionally) a control-plane one.
PROBE = """
import json, sys
import django
django.setup()
from asgiref.testing import ApplicationCommunicator
from asgiref.sync import async_to_sync
from vandamme.asgi import application

async def get(path):
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "path": path,
             "raw_path": path.encode(), "query_string": b"", "headers": [], "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": b""})
    start = await app.receive_output(5)
    await app.receive_output(5)
    return start["status"]

statuses = [async_to_sync(get)(path) for path in sys.argv[1:]]
print(json.dumps({"statuses": statuses, "modules": sorted(sys.modules)}))
"""
CONTROL_PLANE_ONLY = (
    "twisted",
    "rest_framework.serializers",
    "drf_spectacular.openapi",
    "psycopg",
    "vandamme.urls",
)


def _served(tmp_path: Path, *paths: str) -> tuple[list[int], set[str]]:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "vandamme.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *paths],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["statuses"], set(answer["modules"])


def test_data_plane_imports_no_control_plane_library(tmp_path: Path) -> None:
    statuses, modules = _served(tmp_path, "/health")
    assert statuses == [200]
    assert "routing.views" in modules  # the request really went through the data plane's URLconf
    assert [name for name in CONTROL_PLANE_ONLY if name in modules] == []


def test_control_plane_loads_its_urlconf_on_its_first_request(tmp_path: Path) -> None:
    statuses, modules = _served(tmp_path, "/health", "/admin/login/")
    assert statuses == [200, 200]
    assert {"vandamme.urls", "drf_spectacular.openapi", "apitokens.schema"} <= modules
    assert "twisted" not in modules


def test_runserver_is_daphnes() -> None:
    from daphne.management.commands.runserver import Command as DaphneRunserver

    assert isinstance(load_command_class(get_commands()["runserver"], "runserver"), DaphneRunserver)
