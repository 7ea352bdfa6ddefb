"""The processes a benchmark run drives: the mock upstream, the gateway, and /proc readings.

The gateway is pinned to core 0; the mock upstream and the load generator share core 1
(``taskset`` / ``sched_setaffinity``, when the machine has two cores), as in PERF.md.
"""

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# The test suite's own process helpers: the bench starts its servers the same way.
from tests.integration.gateway import free_port, stop_process

REPO = Path(__file__).resolve().parent.parent
GATEWAY_CORE = 0
CLIENT_CORE = 1
PROXY_KEY = "bench-gateway-key"
PROVIDER_KEY = "bench-key"
START_SECONDS = 120.0  # a cold start migrates a fresh SQLite file first
OPEN_FILES_WANTED = 8192  # 1 000 concurrent streams hold two sockets each in the gateway


def can_pin() -> bool:
    return (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")


def pinned(core: int, command: list[str]) -> list[str]:
    if can_pin() and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *command]
    return command


def pin_this_process(core: int) -> None:
    if can_pin():
        os.sched_setaffinity(0, {core})


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files towards the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(OPEN_FILES_WANTED, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


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

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.origin}/_mock/stats")
        response.raise_for_status()
        return dict(response.json())


def start_mock(workdir: Path, *, pin: bool = True, canned: bool = False) -> Mock:
    """``python -m tests.mock_upstream`` on a free port, without its request record (a long
    run would keep every request); on the client core unless ``pin`` is false. ``canned``
    starts ``bench.fast_upstream`` instead: one prebuilt answer, next to no CPU (it has no
    ``configure`` or ``stats``)."""
    port_file = workdir / ("canned.port" if canned else "mock.port")
    module = "bench.fast_upstream" if canned else "tests.mock_upstream"
    command = [sys.executable, "-m", module, "--port", "0", "--port-file", str(port_file)]
    if not canned:
        command.append("--no-record")
    process = subprocess.Popen(
        pinned(CLIENT_CORE, command) if pin else command, cwd=REPO, stdout=subprocess.DEVNULL
    )
    try:
        wait_until(lambda: port_file.exists() or process.poll() is not None, "the mock writing its port", 20)
    except RuntimeError:
        stop_process(process)
        raise
    if process.poll() is not None:
        raise RuntimeError(f"the mock upstream exited at start (status {process.returncode})")
    return Mock(process, int(port_file.read_text()))


@dataclass
class Server:
    """A proxy under test: its process (pinned to the gateway core) and its log."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_server(
    name: str, command: list[str], *, port: int, env: dict[str, str], cwd: Path, workdir: Path
) -> Server:
    """Start ``command`` on the gateway core and wait until ``/health`` answers 200.

    ``taskset`` and ``manage.py serve`` exec the server in place, so the process started
    here is the one whose CPU and memory are read."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            pinned(GATEWAY_CORE, command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, port, process, log_path)
    health = f"http://127.0.0.1:{port}/health"
    try:
        wait_until(lambda: process.poll() is not None or answers(health), f"{name} answering", START_SECONDS)
    except RuntimeError as exc:
        stop_process(process)
        raise RuntimeError(f"{exc}:\n{server.log_tail()}") from None
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited at start:\n{server.log_tail()}")
    return server


def gateway_env(workdir: Path, mock_port: int) -> dict[str, str]:
    """Only what the run sets: a throwaway SQLite file, no TOML files, one OpenAI-format
    provider ``mock`` as the default, and a gateway key (so authentication is measured)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "VANDAMME_CONFIG_FILE": str(workdir / "absent-local.toml"),
        "VANDAMME_USER_CONFIG_FILE": str(workdir / "absent-user.toml"),
        "LOG_LEVEL": "WARNING",
        "PROXY_API_KEY": PROXY_KEY,
        "MOCK_API_KEY": PROVIDER_KEY,
        "MOCK_BASE_URL": f"http://127.0.0.1:{mock_port}/v1",
        "VDM_DEFAULT_PROVIDER": "mock",
        # Middleware to measure (bench.noop_middleware), passed on when set: none by default.
        **({"VDM_MIDDLEWARE": os.environ["VDM_MIDDLEWARE"]} if os.environ.get("VDM_MIDDLEWARE") else {}),
    }


def start_gateway(
    server: str, workdir: Path, mock_port: int, extra_env: dict[str, str] | None = None
) -> Server:
    """The gateway as ``scripts/start`` runs it: ``manage.py serve`` (migrate, load the
    configuration, then serve with daphne or uvicorn); ``extra_env`` adds to its variables."""
    port = free_port()
    command = [
        sys.executable,
        "manage.py",
        "serve",
        "--server",
        server,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    gateway_dir = workdir / server
    gateway_dir.mkdir(exist_ok=True)
    env = {**gateway_env(gateway_dir, mock_port), **(extra_env or {})}
    return start_server(server, command, port=port, env=env, cwd=REPO, workdir=gateway_dir)


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


def rss_mib(pid: int) -> float:
    return status_kib(pid, "VmRSS") / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (NaN when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command name: state is field 3 of stat(5), utime and stime are 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_busy_seconds(core: int) -> float:
    """CPU time spent on ``core`` so far by processes (user, nice, system) and taken by the
    hypervisor (steal). Interrupt and softirq time is left out: on loopback it is mostly
    the kernel carrying our own traffic."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(v) for v in line.split()[1:9])
            return (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")
    return float("nan")
