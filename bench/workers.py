"""``serve --workers``: requests/s of the gateway with N uvicorn workers against one.

Each count in turn: the gateway as an operator starts it (``manage.py serve --server
uvicorn --workers N``, nothing pinned: the workers, the upstream and this load generator
share the machine's cores), plain Anthropic ``/v1/messages`` requests at concurrency 64
for ``--seconds``, ``--repeat`` rounds, median. The upstream is ``bench.fast_upstream``
by default (a canned answer, next to no CPU): the test suite's mock fills a core of its
own at a few hundred requests/s and was the ceiling, not the gateway. Besides requests/s
it reports the CPU the gateway's processes used and what the upstream and the load
generator used: on a 2-core machine those take their share too, and the ratio says how
much of the second core the gateway could get.

Usage: python -m bench.workers [--workers 1 2] [--seconds 10] [--repeat 3] [--upstream canned|mock]
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.loadgen import build_request, run_phase
from bench.measure import BODY, CONCURRENCY, HEADERS, UNBOUNDED, answered
from bench.processes import (
    REPO,
    START_SECONDS,
    Mock,
    answers,
    cpu_seconds,
    gateway_env,
    raise_open_file_limit,
    start_mock,
    wait_until,
)
from tests.integration.gateway import free_port, stop_process

MODEL = "bench"  # a bare name: the gateway's default provider, the mock


@dataclass
class Figures:
    workers: int
    requests_per_second: float
    errors: int
    gateway_cpu_share: float  # CPU seconds of the gateway's processes per second of wall time
    other_cpu_share: float  # the upstream and this load generator, the same way


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--upstream",
        choices=["canned", "mock"],
        default="canned",
        help="canned (default): bench.fast_upstream, next to no CPU; mock: the test suite's mock, "
        "a full Python server that fills a core of its own at a few hundred requests/s",
    )
    return parser.parse_args(argv)


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _tree_cpu(pid: int) -> float:
    """CPU of a process and its children (uvicorn's supervisor and its workers)."""
    return cpu_seconds(pid) + sum(_tree_cpu(child) for child in _children(pid))


def _start_gateway(workers: int, workdir: Path, mock_port: int) -> tuple["subprocess.Popen[bytes]", int]:
    port = free_port()
    command = [sys.executable, "manage.py", "serve", "--server", "uvicorn", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    gateway_dir = workdir / f"workers-{workers}"
    gateway_dir.mkdir()
    log = (gateway_dir / "gateway.log").open("wb")
    env = gateway_env(gateway_dir, mock_port)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    health = f"http://127.0.0.1:{port}/health"
    wait_until(lambda: process.poll() is not None or answers(health), "the gateway answering", START_SECONDS)
    if process.poll() is not None:
        raise RuntimeError(f"the gateway exited at start: see {gateway_dir / 'gateway.log'}")
    # Every worker answers before the clock starts: a worker still importing takes no load.
    wait_until(lambda: len(_children(process.pid)) >= workers or workers == 1, "the workers", 60)
    time.sleep(3.0 * workers)
    return process, port


def _round(
    loop: asyncio.AbstractEventLoop, port: int, seconds: float, gateway_pid: int, mock_pid: int
) -> tuple[float, int, float, float]:
    request = build_request(port, "/v1/messages", {**BODY, "model": MODEL}, HEADERS)
    gateway_before, other_before = _tree_cpu(gateway_pid), cpu_seconds(mock_pid) + time.process_time()
    phase = loop.run_until_complete(
        run_phase(
            port, request, concurrency=CONCURRENCY, seconds=seconds, max_requests=UNBOUNDED, check=answered
        )
    )
    gateway_cpu = _tree_cpu(gateway_pid) - gateway_before
    other_cpu = cpu_seconds(mock_pid) + time.process_time() - other_before
    return phase.per_second, phase.errors, gateway_cpu / phase.elapsed, other_cpu / phase.elapsed


def measure(
    workers: int, args: argparse.Namespace, workdir: Path, mock: Mock, loop: asyncio.AbstractEventLoop
) -> Figures:
    process, port = _start_gateway(workers, workdir, mock.port)
    try:
        warm = build_request(port, "/v1/messages", {**BODY, "model": MODEL}, HEADERS)
        loop.run_until_complete(
            run_phase(port, warm, concurrency=8, seconds=2, max_requests=UNBOUNDED, check=answered)
        )
        pids = (process.pid, mock.process.pid)
        rounds = [_round(loop, port, args.seconds, *pids) for _ in range(args.repeat)]
    finally:
        stop_process(process)
    medians = (statistics.median(values) for values in zip(*rounds, strict=True))
    rps, errors, gateway_share, other_share = medians
    return Figures(workers, rps, int(errors), gateway_share, other_share)


def report(figures: list[Figures]) -> str:
    base = figures[0].requests_per_second
    lines = ["workers  requests/s  ×first  gateway CPU (cores)  upstream+loadgen CPU (cores)  errors"]
    for row in figures:
        ratio = row.requests_per_second / base if base else float("nan")
        lines.append(
            f"{row.workers:>7}  {row.requests_per_second:>10.0f}  {ratio:>6.2f}"
            f"  {row.gateway_cpu_share:>19.2f}  {row.other_cpu_share:>28.2f}  {row.errors:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    raise_open_file_limit()
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="vandamme-bench-workers-") as directory:
        workdir = Path(directory)
        mock = start_mock(workdir, pin=False, canned=args.upstream == "canned")
        try:
            if args.upstream == "mock":
                mock.configure(chunks=10, delay_ms=0)
            figures = [measure(count, args, workdir, mock, loop) for count in args.workers]
        finally:
            stop_process(mock.process)
    print(report(figures), flush=True)
    return {"figures": [vars(row) for row in figures]}


if __name__ == "__main__":
    main()
