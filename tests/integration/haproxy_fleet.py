"""A fleet on real servers for tests/integration/test_fleet.py: Debian's haproxy (with the
shipped deploy/haproxy/haproxy.cfg) in front of two gateways, one daphne and one uvicorn,
on PostgreSQL and redis-server, with the mock upstream; plus a steady mixed client load."""

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import httpx
import openai

from tests.integration.gateway import REPO_ROOT, GatewayProcess, free_port, stop_process

HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
HAPROXY_CONFIG = REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg"
PROXY_KEY = "fleet-gateway-key"
READY_IN_A_ROW = 6  # /ready through haproxy: both servers (balanced by least connections)
MODEL = "mock-model"  # a bare name: the default (only) provider, the mock


def deploy_step(env: Mapping[str, str]) -> None:
    """What the migrate Job / compose's migrate service runs, once for the fleet."""
    for command in (["migrate", "--noinput"], ["load_config"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env=dict(env),
            check=True,
            capture_output=True,
            timeout=300,
        )


def api_token(env: Mapping[str, str]) -> str:
    """A staff user and a REST API token for it (the operator's credentials)."""
    create_user = (
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('ops', password='unused-in-this-test', is_staff=True)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", create_user],
        cwd=REPO_ROOT,
        env=dict(env),
        check=True,
        capture_output=True,
        timeout=120,
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "ops"],
        cwd=REPO_ROOT,
        env=dict(env),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout.strip()


def haproxy_config(port: int, servers: Mapping[str, int]) -> str:
    """The shipped configuration, with a local bind and fixed servers instead of Docker's DNS."""
    kept: list[str] = []
    skipping = False
    for line in HAPROXY_CONFIG.read_text().splitlines():
        if line.startswith("resolvers "):
            skipping = True  # the resolvers section runs to the end of the file
        if skipping or line.strip().startswith("server-template"):
            continue
        kept.append(line.replace("bind :8080", f"bind 127.0.0.1:{port}"))
        if line.strip().startswith("default-server"):
            kept += [f"    server {name} 127.0.0.1:{server_port}" for name, server_port in servers.items()]
    return "\n".join(kept) + "\n"


class HAProxy:
    def __init__(self, directory: Path, servers: Mapping[str, int]) -> None:
        assert HAPROXY is not None, "haproxy is not installed (scripts/_install_haproxy.sh)"
        self.port = free_port()
        self.config = directory / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, servers))
        self.log_path = directory / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(HAPROXY), "-f", str(self.config), "-db"], stdout=log, stderr=subprocess.STDOUT
            )
        deadline, answered = time.monotonic() + 60, 0
        while time.monotonic() < deadline and answered < READY_IN_A_ROW:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log_path.read_text()}")
            try:
                ready = httpx.get(f"{self.base_url}/ready", timeout=5).status_code == 200
            except httpx.TransportError:
                ready = False
            answered = answered + 1 if ready else 0
            time.sleep(0.1)
        if answered < READY_IN_A_ROW:
            raise RuntimeError(f"haproxy does not answer /ready: {self.log_path.read_text()}")

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Load:
    """Client threads calling the fleet round robin over the doors: Anthropic and OpenAI,
    streamed and not. Every call is checked; failures are kept by kind."""

    base_url: str
    api_key: str = PROXY_KEY
    threads: int = 6
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> "Load":
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self.workers.append(worker)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for worker in self.workers:
            worker.join(timeout=60)

    def _run(self, index: int) -> None:
        claude = anthropic.Anthropic(api_key=self.api_key, base_url=self.base_url, max_retries=0, timeout=30)
        gpt = openai.OpenAI(api_key=self.api_key, base_url=f"{self.base_url}/v1", max_retries=0, timeout=30)
        calls: list[Callable[[], bool]] = [
            lambda: _anthropic_plain(claude),
            lambda: _anthropic_stream(claude),
            lambda: _openai_plain(gpt),
            lambda: _openai_stream(gpt),
        ]
        turn = index
        while not self.stop_event.is_set():
            self._record(calls[turn % len(calls)])
            turn += 1

    def _record(self, call: Callable[[], bool]) -> None:
        try:
            answered = call()
            failure = "" if answered else "incomplete answer"
        except (anthropic.APIStatusError, openai.APIStatusError) as error:
            failure = f"status {error.status_code}"
            with self.lock:
                self.statuses[error.status_code] += 1
        except (anthropic.APIError, openai.APIError, httpx.HTTPError) as error:
            failure = type(error).__name__
        with self.lock:
            if failure:
                self.failures[failure] += 1
            else:
                self.ok += 1


def _user(text: str = "hi") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _anthropic_plain(client: anthropic.Anthropic) -> bool:
    answer = client.messages.create(model=MODEL, max_tokens=16, messages=_user())
    return answer.stop_reason == "end_turn"


def _anthropic_stream(client: anthropic.Anthropic) -> bool:
    with client.messages.stream(model=MODEL, max_tokens=16, messages=_user()) as stream:
        for _ in stream:
            pass
        return stream.get_final_message().stop_reason == "end_turn"


def _openai_plain(client: openai.OpenAI) -> bool:
    answer = client.chat.completions.create(model=MODEL, max_tokens=16, messages=_user())
    return answer.choices[0].finish_reason == "stop"


def _openai_stream(client: openai.OpenAI) -> bool:
    finish = None
    stream = client.chat.completions.create(model=MODEL, max_tokens=16, messages=_user(), stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
    return finish == "stop"


def restart(gateway: GatewayProcess) -> int:
    """SIGTERM (a drain), wait for the exit, start again on the same port; the exit code."""
    assert gateway.process is not None
    gateway.process.terminate()
    returncode = gateway.process.wait(timeout=60)
    gateway.start(timeout=120)
    return returncode
