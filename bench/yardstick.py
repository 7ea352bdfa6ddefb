"""The yardstick PERF.md names: vandamme-proxy 2.0.9 from PyPI (FastAPI, uvicorn, openai SDK),
installed into a virtualenv of its own under ``.cache/bench-yardstick/`` and measured exactly
like the gateway: Anthropic ``/v1/messages`` in front, the OpenAI-format mock behind.

It reads the same variables as vandamme (``{NAME}_API_KEY``, ``{NAME}_BASE_URL``,
``VDM_DEFAULT_PROVIDER``, ``PROXY_API_KEY``, ``HOST``, ``PORT``, ``LOG_LEVEL``) and is started
with its own command, ``vdm server start``. Its packaged profiles name providers that are not
configured here, so strict profile validation is switched off or it refuses to start.
"""

import os
import subprocess
import sys
from pathlib import Path

from bench.processes import PROVIDER_KEY, PROXY_KEY, REPO, Server, free_port, start_server

PACKAGE = "vandamme-proxy"
VERSION = "2.0.9"
VENV = REPO / ".cache" / "bench-yardstick" / "venv"


def _installed_version() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-m", "pip", "show", "--disable-pip-version-check", PACKAGE],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def ensure_installed() -> Path:
    """Create the virtualenv and install the pinned release when it is not there yet;
    returns the ``vdm`` command."""
    if _installed_version() != VERSION:
        print(f"installing {PACKAGE}=={VERSION} into {VENV} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{PACKAGE}=={VERSION}"],
            check=True,
        )  # fmt: skip
    return VENV / "bin" / "vdm"


def yardstick_env(workdir: Path, mock_port: int) -> dict[str, str]:
    """Its configuration, from the environment only: HOME and the working directory are the
    run's own, so no user or local vandamme-config.toml is read."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "LOG_LEVEL": "WARNING",
        "PROXY_API_KEY": PROXY_KEY,
        "MOCK_API_KEY": PROVIDER_KEY,
        "MOCK_BASE_URL": f"http://127.0.0.1:{mock_port}/v1",
        "VDM_DEFAULT_PROVIDER": "mock",
        "VDM_STRICT_PROFILE_VALIDATION": "false",
    }


def start_yardstick(workdir: Path, mock_port: int) -> Server:
    vdm = ensure_installed()
    port = free_port()
    home = workdir / "yardstick"
    home.mkdir(exist_ok=True)
    command = [str(vdm), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    return start_server(
        f"{PACKAGE}-{VERSION}", command, port=port, env=yardstick_env(home, mock_port), cwd=home, workdir=home
    )
