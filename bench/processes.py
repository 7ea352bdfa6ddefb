"""The processes a benchmark run drives: the mock upstream, the gateway, and /proc readings.

The gateway is pinned to core 0; the mock upstream and the load generator share core 1
(``taskset`` / ``sched_setaffinity``, when the machine has two cores), as in PERF.md.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
GATEWAY_CORE = 0
CLIENT_CORE = 1
PROXY_KEY = "bench-gateway-key"
PROVIDER_KEY = "bench-key"


def can_pin() -> bool:
    return (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")


def pinned(core: int, command: list[str], *, pin: bool) -> list[str]:
    if pin and can_pin() and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *command]
    return command


def pin_this_process(core: int) -> None:
    if can_pin():
        os.sched_setaffinity(0, {core})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Mock:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, *, chunks: int, delay_ms: float) -> None:
        """Server-wide pacing of default streams (the gateway does not forward x-mock-*)."""
        response = httpx.post(f"{self.origin}/_mock/config", json={"chunks": chunks, "delay_ms": delay_ms})
        response.raise_for_status()


def start_mock(workdir: Path, *, pin: bool) -> Mock:
    port_file = workdir / "mock.port"
    command = [sys.executable, "-m", "tests.mock_upstream", "--port", "0", "--port-file", str(port_file)]
    command.append("--no-record")  # a long run would keep every request otherwise
    process = subprocess.Popen(pinned(CLIENT_CORE, command, pin=pin), cwd=REPO, stdout=subprocess.DEVNULL)
    wait_until(port_file.exists, "the mock upstream writing its port", timeout=20)
    return Mock(process, int(port_file.read_text()))


@dataclass
class Gateway:
    server: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class GatewaySetup:
    """A throwaway database configured for one OpenAI-format provider ``mock``."""

    workdir: Path
    mock_port: int
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.workdir),
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "vandamme.settings",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "VANDAMME_CONFIG_FILE": str(self.workdir / "absent-local.toml"),
            "VANDAMME_USER_CONFIG_FILE": str(self.workdir / "absent-user.toml"),
            "LOG_LEVEL": "WARNING",
            "PROXY_API_KEY": PROXY_KEY,
            "MOCK_API_KEY": PROVIDER_KEY,
            "MOCK_BASE_URL": f"http://127.0.0.1:{self.mock_port}/v1",
            "VDM_DEFAULT_PROVIDER": "mock",
        }

    def prepare(self) -> None:
        """``manage.py migrate`` then ``manage.py load_config``; a failure shows the output."""
        for command in (["migrate", "--noinput"], ["load_config"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command], cwd=REPO, env=self.env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def serve_command(self, server: str, port: int) -> list[str]:
        if server == "daphne":
            return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "vandamme.asgi:application"]
        return [
            sys.executable, "-m", "uvicorn", "vandamme.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip

    def start(self, server: str, *, pin: bool) -> Gateway:
        port = free_port()
        log_path = self.workdir / f"gateway-{server}.log"
        with log_path.open("wb") as log:
            command = pinned(GATEWAY_CORE, self.serve_command(server, port), pin=pin)
            process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        gateway = Gateway(server, port, process, log_path)
        try:
            wait_until(lambda: process.poll() is not None or answers(f"http://127.0.0.1:{port}/health"), "start")
        except RuntimeError:
            stop(process)
            raise
        if process.poll() is not None:
            raise RuntimeError(f"{server} exited at start:\n{gateway.log_tail()}")
        return gateway


# --- /proc readings ----------------------------------------------------------------------


def status_kib(pid: int, field_name: str) -> int:
    """A ``/proc/PID/status`` field such as VmRSS or VmHWM, in KiB (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

