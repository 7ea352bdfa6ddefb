"""``serve --workers N``: N uvicorn worker processes on one port, their metrics summed
through a multiprocess directory that serve sets up (and removes); daphne refuses it."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.mock_upstream import REPLY_TEXT, MockUpstream

pytestmark = pytest.mark.integration

WORKERS = 2
CALLS = 20


def _workers(pid: int) -> list[int]:
    """uvicorn's worker processes (multiprocessing may start a resource tracker beside them)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


def _requests_counted(metrics: str) -> float:
    return sum(float(value) for value in re.findall(r"^vandamme_requests_total\{.*\} (\S+)$", metrics, re.M))


def test_uvicorn_workers_share_the_port_and_the_metrics(tmp_path: Path) -> None:
    with MockUpstream() as upstream:
        env = {"MOCK_API_KEY": "sk-mock", "MOCK_BASE_URL": upstream.base_url, "TMPDIR": str(tmp_path)}
        gateway = GatewayProcess(tmp_path, env, server="uvicorn", args=["--workers", str(WORKERS)])
        with gateway:
            assert gateway.process is not None
            workers = _workers(gateway.process.pid)
            for _ in range(CALLS):  # a new connection each: the kernel spreads them over the workers
                with anthropic.Anthropic(api_key="-", base_url=gateway.base_url, max_retries=0) as client:
                    answer = client.messages.create(
                        model="mock-model", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
                    )
                assert answer.content[0].type == "text"
                assert answer.content[0].text == REPLY_TEXT
            metrics_dirs = list(tmp_path.glob("vandamme-metrics-*"))
            metrics_files = [path.name for path in tmp_path.glob("vandamme-metrics-*/*.db")]
            scrapes = [httpx.get(f"{gateway.base_url}/metrics").text for _ in range(4)]
            gateway.process.send_signal(signal.SIGTERM)
            returncode = gateway.process.wait(timeout=60)
    log = gateway.log()
    assert len(workers) == WORKERS, log
    assert len(metrics_dirs) == 1, log
    assert {name.split("_")[-1] for name in metrics_files} <= {f"{pid}.db" for pid in workers}
    assert any(name.startswith("counter_") for name in metrics_files)
    # Whichever worker answers the scrape reports every worker's calls.
    assert [_requests_counted(scrape) for scrape in scrapes] == [CALLS] * len(scrapes), log
    assert returncode == 0, log
    assert not metrics_dirs[0].exists()  # serve made it, serve removed it
    assert "Traceback" not in log


def test_daphne_refuses_workers_with_a_clear_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--workers", "2"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "CommandError: daphne runs one process: use --server uvicorn --workers N for several "
        "cores (or run several daphne processes behind a load balancer)"
    )
