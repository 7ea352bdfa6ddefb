"""A throwaway PostgreSQL on 127.0.0.1 from Debian's packages: a free port, its own temp
dir, fsync off. As root the server runs as the ``postgres`` user (it refuses root), as
``scripts/_postgres.sh`` does for a shell."""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.integration.gateway import free_port


def _bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(found[-1]) if found else None


PG_BIN = _bin_dir()


class PostgresServer:
    def __init__(self) -> None:
        assert PG_BIN is not None, "PostgreSQL is not installed"
        self.directory = Path(tempfile.mkdtemp(prefix="vandamme-pg."))
        self.port = 0
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.directory, "postgres")

    @property
    def url(self) -> str:
        return f"postgres://vandamme@127.0.0.1:{self.port}/vandamme"

    def _run(self, *command: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", *command] if self._as_root else list(command)
        subprocess.run(argv, check=True, capture_output=True, cwd=self.directory)

    def start(self) -> None:
        assert PG_BIN is not None
        data = str(self.directory / "data")
        self._run(str(PG_BIN / "initdb"), f"--pgdata={data}", "--username=vandamme", "--auth=trust")
        self.port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off -c max_connections=200"
        options += f" -c unix_socket_directories={self.directory}"
        log = str(self.directory / "server.log")
        self._run(
            str(PG_BIN / "pg_ctl"), f"--pgdata={data}", f"--log={log}", "-o", options, "--wait", "start"
        )
        self._run(
            str(PG_BIN / "createdb"), "--host=127.0.0.1", f"--port={self.port}", "-U", "vandamme", "vandamme"
        )

    def postmaster_pid(self) -> int:
        return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections hang, none is refused."""
        self._signal_all(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        pid = self.postmaster_pid()
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for target in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                os.kill(target, signum)

    def stop(self) -> None:
        assert PG_BIN is not None
        if self.port:
            self.thaw()
            self._run(str(PG_BIN / "pg_ctl"), f"--pgdata={self.directory / 'data'}", "--mode=fast", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def create_database(server: PostgresServer, name: str) -> str:
    """A fresh database on ``server``; its URL."""
    assert PG_BIN is not None
    subprocess.run(
        [str(PG_BIN / "createdb"), "--host=127.0.0.1", f"--port={server.port}", "-U", "vandamme", name],
        check=True,
        capture_output=True,
    )
    return f"postgres://vandamme@127.0.0.1:{server.port}/{name}"
