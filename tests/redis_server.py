"""A throwaway ``redis-server`` on 127.0.0.1: a free port, its own temp dir, no persistence."""

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.integration.gateway import free_port, stop_process

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, attempts: int = 5, *, same_port: bool = False) -> None:
        """Start on a free port, or (``same_port``: a restart) on the one it had."""
        assert REDIS_SERVER is not None, "redis-server is not installed"
        for _ in range(attempts):  # another test run may take the port between bind and listen
            if not (same_port and self.port):
                self.port = free_port()
            command = [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
            ]
            command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
            log = (self.directory / f"redis-{self.port}.log").open("wb")
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_until_ready():
                return
            self.stop()
        raise RuntimeError(f"redis-server did not start (see {self.directory})")

    def _wait_until_ready(self, timeout: float = 10.0) -> bool:
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def stop(self) -> None:
        stop_process(self.process)
