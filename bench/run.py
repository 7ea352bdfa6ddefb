"""Benchmark: the gateway against the mock upstream hit directly, in one run, as ratios.

Direct: Anthropic /v1/messages on the mock. Gateway: Anthropic /v1/messages through vandamme
(``manage.py serve``, daphne and/or uvicorn) to the mock's OpenAI endpoint, translation
included. With --yardstick, vandamme-proxy 2.0.9 from PyPI is measured the same way. The
proxy is pinned to core 0; the mock and this load generator share core 1.

Usage: python -m bench.run [--quick] [--servers daphne uvicorn] [--yardstick] [--repeat N]
                           [--gateway-env NAME=VALUE …]
"""

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any

import uvloop

from bench.measure import FULL, QUICK, Plan, Runner, Target
from bench.processes import (
    CLIENT_CORE,
    REPO,
    Mock,
    Server,
    can_pin,
    pin_this_process,
    raise_open_file_limit,
    start_gateway,
    start_mock,
    stop_process,
)
from bench.report import summary
from bench.yardstick import PACKAGE, VERSION, start_yardstick

RESULTS = REPO / "bench" / "results"
YARDSTICK_NAME = f"{PACKAGE}-{VERSION}"
MODEL = "bench"  # a bare name: the gateway sends it to its default provider, the mock


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases, one round (a smoke run)")
    parser.add_argument("--servers", nargs="*", default=["daphne", "uvicorn"], choices=["daphne", "uvicorn"])
    parser.add_argument(
        "--yardstick", action="store_true", help=f"also measure {PACKAGE} {VERSION} from PyPI"
    )
    parser.add_argument(
        "--repeat", type=int, help="rounds of the timed phases (median); default 3, --quick 1"
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one more variable for the gateway (repeatable), e.g. OTEL_EXPORTER_OTLP_ENDPOINT=…",
    )
    return parser.parse_args(argv)


def _measure(target: Target, mock: Mock, plan: Plan, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    print(f"measuring {target.name} …", flush=True)
    started = time.monotonic()
    figures = Runner(target, mock, plan, loop).measure()
    print(f"  {target.name}: {time.monotonic() - started:.0f} s", flush=True)
    return figures


def _measure_server(
    name: str, start: Callable[[], Server], mock: Mock, plan: Plan, loop: asyncio.AbstractEventLoop
) -> dict[str, Any]:
    """Start a proxy, measure it, stop it; a proxy that fails to start or breaks is reported,
    not fatal, so the others are still measured."""
    try:
        server = start()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"  {name} could not start: {exc}", flush=True)
        return {"error": str(exc)}
    try:
        return _measure(Target(name, server.port, MODEL, server.pid), mock, plan, loop)
    finally:
        stop_process(server.process)


def _context(plan: Plan) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit.stdout.strip(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pinned": can_pin(),
        "load_average_at_start": os.getloadavg(),
        "plan": asdict(plan),
    }


def _jsonable(value: Any) -> Any:
    """NaN (a figure not measured) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def run(args: argparse.Namespace) -> Path:
    plan = QUICK if args.quick else FULL
    if args.repeat:
        plan = replace(plan, repeat=args.repeat)
    context = _context(plan)
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    context["gateway_env"] = extra_env
    if not context["pinned"]:
        print("fewer than two cores: nothing is pinned, the figures mix proxy and client", flush=True)
    raise_open_file_limit()
    pin_this_process(CLIENT_CORE)
    workdir = Path(tempfile.mkdtemp(prefix="vandamme-bench-"))
    loop = uvloop.new_event_loop()
    mock = start_mock(workdir)
    results: dict[str, dict[str, Any]] = {}
    try:
        results["direct"] = _measure(Target("direct", mock.port, MODEL, mock.process.pid), mock, plan, loop)
        for server in args.servers:
            results[server] = _measure_server(
                server, partial(start_gateway, server, workdir, mock.port, extra_env), mock, plan, loop
            )
        if args.yardstick:
            results[YARDSTICK_NAME] = _measure_server(
                YARDSTICK_NAME, partial(start_yardstick, workdir, mock.port), mock, plan, loop
            )
    finally:
        stop_process(mock.process)
        loop.close()
    if any("error" in figures for figures in results.values()):
        print(f"logs kept in {workdir}", flush=True)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    text, data = summary(
        results, gateways=args.servers, yardstick_name=YARDSTICK_NAME if args.yardstick else None
    )
    print("\n" + text)
    context["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
    path.write_text(
        json.dumps(_jsonable({"context": context, "results": results, "summary": data}), indent=2)
    )
    print(f"\nwritten to {path.relative_to(REPO)}")
    return path


def main() -> None:
    run(parse_args())


if __name__ == "__main__":
    main()
