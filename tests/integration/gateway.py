"""Run the real gateway (``manage.py serve``: migrate, load config, daphne) in a subprocess."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: "subprocess.Popen[bytes] | None") -> None:
    """Terminate a server started by a test, and kill it if it does not stop in 10 s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class GatewayProcess:
    """A gateway on 127.0.0.1 with its own SQLite file and only the given environment.

    The parent's provider variables are not inherited: a test sees exactly the
    configuration it passes.
    """

    def __init__(
        self, tmp_dir: Path, env: Mapping[str, str], *, server: str = "daphne", args: Sequence[str] = ()
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_dir / f"gateway-{self.port}.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_dir),
            "DATABASE_URL": f"sqlite:///{tmp_dir / 'gateway.sqlite3'}",
            "VANDAMME_CONFIG_FILE": str(tmp_dir / "absent-local.toml"),
            "VANDAMME_USER_CONFIG_FILE": str(tmp_dir / "absent-user.toml"),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.server = server
        self.args = list(args)  # more `manage.py serve` options (--skip-load, …)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "GatewayProcess":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        log = self.log_path.open("wb")
        command = [sys.executable, "manage.py", "serve", "--port", str(self.port), "--server", self.server]
        command += self.args
        self.process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not become ready:\n{self.log()}")

    def stop(self) -> None:
        stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
