"""``python -m tests.mock_upstream --port 0 --port-file PATH [--chunks N] [--delay-ms M]``

Serves until SIGTERM or SIGINT. The bound port is written to PATH (atomically, once listening),
so a parent process can start it on port 0 and read where it went.
"""

import argparse
import asyncio
import os
import signal
from pathlib import Path

from tests.mock_upstream.replies import DEFAULT_CHUNKS
from tests.mock_upstream.routes import Pacing
from tests.mock_upstream.server import MockServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.mock_upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument(
        "--chunks", type=int, default=DEFAULT_CHUNKS, help="content deltas per default stream"
    )
    parser.add_argument("--delay-ms", type=float, default=0.0, help="spacing of the content deltas")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests (long benchmarks)")
    return parser.parse_args(argv)


def write_port_file(path: Path, port: int) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"{port}\n")
    os.replace(partial, path)


async def serve(args: argparse.Namespace) -> None:
    server = MockServer(pacing=Pacing(args.chunks, args.delay_ms), record=not args.no_record)
    port = await server.start(args.host, args.port)
    if args.port_file is not None:
        write_port_file(args.port_file, port)
    print(f"mock upstream listening on http://{args.host}:{port}", flush=True)  # noqa: T201
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop()


if __name__ == "__main__":
    asyncio.run(serve(parse_args()))
