"""Benchmark: the gateway against the mock upstream hit directly, in one run, as ratios.

Direct: Anthropic /v1/messages on the mock. Gateway: Anthropic /v1/messages through
vandamme to the mock's OpenAI endpoint (translation included). The gateway is pinned to
core 0; the mock and this load generator share core 1 (``taskset``, when present).
Usage: python bench/run.py [--quick] [--servers daphne uvicorn]
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Result, build_request, run_load

REPO = Path(__file__).resolve().parent.parent
BODY = {"max_tokens": 64, "messages": [{"role": "user", "content": "Say hello"}]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def rss_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_mock(port: int, delay_ms: int) -> subprocess.Popen[bytes]:
    command = pinned(
        1, [sys.executable, str(REPO / "bench" / "mock_upstream.py"), str(port), "10", str(delay_ms)]
    )
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return process


def start_gateway(
    server: str, port: int, fast_port: int, slow_port: int, workdir: Path
) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(workdir),
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{workdir / f'{server}.sqlite3'}",
        "VANDAMME_CONFIG_FILE": str(workdir / "none.toml"),
        "VANDAMME_USER_CONFIG_FILE": str(workdir / "none.toml"),
        "FAST_API_KEY": "bench-key",
        "FAST_BASE_URL": f"http://127.0.0.1:{fast_port}/v1",
        "SLOW_API_KEY": "bench-key",
        "SLOW_BASE_URL": f"http://127.0.0.1:{slow_port}/v1",
        "VDM_DEFAULT_PROVIDER": "fast",
    }
    command = pinned(0, [sys.executable, "manage.py", "serve", "--server", server, "--port", str(port)])
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_http(f"http://127.0.0.1:{port}/health")
    return process


def measure(port: int, model: str, quick: bool, *, slow_port: int, slow_model: str) -> dict[str, Result]:
    seconds = 2.0 if quick else 5.0
    plain = build_request("/v1/messages", {**BODY, "model": model}, port)
    fast_stream = build_request("/v1/messages", {**BODY, "model": model, "stream": True}, port)
    slow_stream = build_request("/v1/messages", {**BODY, "model": slow_model, "stream": True}, slow_port)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(
            run_load(port, plain, concurrency=8, seconds=1.0, max_requests=300)
        )  # warm-up
        return {
            "c1": loop.run_until_complete(
                run_load(port, plain, concurrency=1, seconds=seconds, max_requests=3000)
            ),
            "c64": loop.run_until_complete(
                run_load(port, plain, concurrency=64, seconds=seconds, max_requests=10**9)
            ),
            "ttfb_c1": loop.run_until_complete(
                run_load(slow_port, slow_stream, concurrency=1, seconds=seconds, max_requests=15)
            ),
            "ttfb_c64": loop.run_until_complete(
                run_load(slow_port, slow_stream, concurrency=64, seconds=seconds, max_requests=10**9)
            ),
            "streams_c64": loop.run_until_complete(
                run_load(port, fast_stream, concurrency=64, seconds=seconds, max_requests=10**9)
            ),
        }
    finally:
        loop.close()


def summarize(results: dict[str, Result]) -> dict[str, float]:
    return {
        "p50_ms_c1": results["c1"].pct(results["c1"].latencies, 0.5),
        "p99_ms_c1": results["c1"].pct(results["c1"].latencies, 0.99),
        "rps_c64": results["c64"].rps,
        "p50_ms_c64": results["c64"].pct(results["c64"].latencies, 0.5),
        "p99_ms_c64": results["c64"].pct(results["c64"].latencies, 0.99),
        "ttfb_ms_c1": results["ttfb_c1"].pct(results["ttfb_c1"].first_bytes, 0.5),
        "ttfb_ms_c64_slow": results["ttfb_c64"].pct(results["ttfb_c64"].first_bytes, 0.5),
        "streams_per_s_c64": results["streams_c64"].rps,
        "errors": float(sum(r.errors for r in results.values())),
    }


def report(direct: dict[str, float], gateways: dict[str, dict[str, float]]) -> str:
    rows = [("figure", "direct", *gateways)]
    for name in direct:
        rows.append((name, f"{direct[name]:.2f}", *(f"{g[name]:.2f}" for g in gateways.values())))
    lines = ["  ".join(cell.ljust(18) for cell in row) for row in rows]
    lines.append("")
    for server, figures in gateways.items():
        lines.append(
            f"{server}: added p50 c=1 {figures['p50_ms_c1'] - direct['p50_ms_c1']:+.2f} ms; "
            f"added TTFB c=1 {figures['ttfb_ms_c1'] - direct['ttfb_ms_c1']:+.2f} ms, "
            f"c=64 slow {figures['ttfb_ms_c64_slow'] - direct['ttfb_ms_c64_slow']:+.2f} ms; "
            f"RPS c=64 {figures['rps_c64'] / direct['rps_c64']:.3f}x direct; "
            f"streams/s {figures['streams_per_s_c64'] / direct['streams_per_s_c64']:.3f}x direct; "
            f"peak RSS {figures['rss_peak_mib']:.0f} MiB"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--servers", nargs="+", default=["daphne", "uvicorn"])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="vandamme-bench-"))
    fast_port, slow_port = free_port(), free_port()
    mocks = [start_mock(fast_port, 0), start_mock(slow_port, 20)]
    try:
        direct = summarize(measure(fast_port, "bench", args.quick, slow_port=slow_port, slow_model="bench"))
        gateways: dict[str, dict[str, float]] = {}
        for server in args.servers:
            port = free_port()
            gateway = start_gateway(server, port, fast_port, slow_port, workdir)
            try:
                figures = summarize(
                    measure(port, "fast:bench", args.quick, slow_port=port, slow_model="slow:bench")
                )
                figures["rss_peak_mib"] = rss_peak_mib(gateway.pid)
                gateways[server] = figures
            finally:
                gateway.terminate()
                gateway.wait(timeout=10)
        print(report({**direct, "rss_peak_mib": float("nan")}, gateways))
        out = REPO / "bench" / "results"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"{stamp}.json").write_text(json.dumps({"direct": direct, "gateways": gateways}, indent=2))
    finally:
        for mock in mocks:
            mock.terminate()


if __name__ == "__main__":
    main()
