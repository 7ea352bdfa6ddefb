"""The three front doors against one OpenAI-format mock: what each adds, in one run.

The gateway (``manage.py serve``, pinned to the gateway core like ``bench.run``) serves
the same question through ``/v1/chat/completions`` (a passthrough), ``/v1/responses``
(translated to Chat Completions and back; and, through a second provider on the same mock
declared to speak the Responses API, a passthrough) and ``/v1/messages`` (translated likewise),
each non-streamed and streamed; the mock's ``/v1/chat/completions`` hit directly is the
reference. Per door and mode: the added p50 latency at concurrency 1 and the requests/s
at concurrency 64, and the Responses door's added latency, translated and passthrough, as a
ratio of the Chat door's (PERF.md's target: within 10 %).

Usage: python -m bench.doors [--server uvicorn] [--seconds 3] [--repeat 3]
"""

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.loadgen import build_request, percentile_ms, run_phase
from bench.measure import CONCURRENCY, HEADERS, UNBOUNDED
from bench.processes import (
    CLIENT_CORE,
    PROVIDER_KEY,
    can_pin,
    pin_this_process,
    raise_open_file_limit,
    start_gateway,
    start_mock,
)
from tests.integration.gateway import stop_process

QUESTION = "Say hello"


@dataclass(frozen=True)
class Door:
    name: str
    path: str
    body: Callable[[bool], dict[str, Any]]
    done: Callable[[bytes, bool], bool]  # is the tail of an answer complete?


def _messages_body(stream: bool) -> dict[str, Any]:
    """The same body serves the Chat and Messages doors: both take ``messages`` and ``max_tokens``."""
    messages = [{"role": "user", "content": QUESTION}]
    return {"model": "bench", "max_tokens": 64, "stream": stream, "messages": messages}


def _responses_body(stream: bool) -> dict[str, Any]:
    return {"model": "bench", "max_output_tokens": 64, "stream": stream, "input": QUESTION}


def _native_responses_body(stream: bool) -> dict[str, Any]:
    return {**_responses_body(stream), "model": f"{NATIVE_PROVIDER}:bench"}


def native_provider_env(mock_port: int) -> dict[str, str]:
    """A second provider on the same mock, declared to speak the Responses API: through it
    the Responses door is a passthrough, as the Chat door is for the first."""
    prefix = NATIVE_PROVIDER.upper()
    return {
        f"{prefix}_API_KEY": PROVIDER_KEY,
        f"{prefix}_BASE_URL": f"http://127.0.0.1:{mock_port}/v1",
        f"{prefix}_RESPONSES_API": "true",
    }


def _chat_done(tail: bytes, stream: bool) -> bool:
    return b"[DONE]" in tail if stream else b'"finish_reason"' in tail


def _responses_done(tail: bytes, stream: bool) -> bool:
    # A whole response object ends with its ``completed_at`` (null until it completes); the
    # status and the ``response.completed`` event name sit at its head, beyond the tail.
    return b'"completed_at":' in tail and b'"completed_at":null' not in tail


def _native_done(tail: bytes, stream: bool) -> bool:
    # The mock's own response object ends with its usage; so does its terminal event.
    return b'"total_tokens"' in tail


def _messages_done(tail: bytes, stream: bool) -> bool:
    return b"message_stop" in tail if stream else b"end_turn" in tail


NATIVE_PROVIDER = "native"
DIRECT = Door("mock direct", "/v1/chat/completions", _messages_body, _chat_done)
DOORS = [
    Door("chat", "/v1/chat/completions", _messages_body, _chat_done),
    Door("responses", "/v1/responses", _responses_body, _responses_done),  # translated to Chat
    Door("resp-native", "/v1/responses", _native_responses_body, _native_done),  # passthrough
    Door("messages", "/v1/messages", _messages_body, _messages_done),
]


@dataclass
class Figures:
    door: str
    stream: bool
    p50_ms: float  # whole answer, concurrency 1
    requests_per_second: float  # concurrency 64
    errors: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.doors", description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "daphne"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args(argv)


def _measure(
    loop: asyncio.AbstractEventLoop, port: int, door: Door, stream: bool, seconds: float
) -> tuple[float, float, int]:
    request = build_request(port, door.path, door.body(stream), HEADERS)

    def complete(tail: bytes) -> bool:
        return door.done(tail, stream)

    single = loop.run_until_complete(
        run_phase(port, request, concurrency=1, seconds=seconds, max_requests=UNBOUNDED, check=complete)
    )
    loaded = loop.run_until_complete(
        run_phase(
            port, request, concurrency=CONCURRENCY, seconds=seconds, max_requests=UNBOUNDED, check=complete
        )
    )
    return percentile_ms(single.latencies, 0.5), loaded.per_second, single.errors + loaded.errors


def _figures(
    loop: asyncio.AbstractEventLoop, port: int, door: Door, stream: bool, args: argparse.Namespace
) -> Figures:
    # Warm the path (imports, pools) before the clock starts.
    loop.run_until_complete(
        run_phase(
            port,
            build_request(port, door.path, door.body(stream), HEADERS),
            concurrency=4,
            seconds=0.5,
            max_requests=UNBOUNDED,
            check=lambda tail: True,
        )
    )
    rounds = [_measure(loop, port, door, stream, args.seconds) for _ in range(args.repeat)]
    p50s, rates, errors = zip(*rounds, strict=True)
    return Figures(door.name, stream, statistics.median(p50s), statistics.median(rates), sum(errors))


def report(direct: list[Figures], doors: list[Figures]) -> str:
    reference = {row.stream: row for row in direct}
    lines = ["door        mode      p50 ms c=1  added ms  requests/s c=64  errors"]
    added: dict[tuple[str, bool], float] = {}
    for row in [*direct, *doors]:
        extra = row.p50_ms - reference[row.stream].p50_ms
        if row.door != DIRECT.name:
            added[(row.door, row.stream)] = extra
        mode = "stream" if row.stream else "json"
        lines.append(
            f"{row.door:<11} {mode:<8} {row.p50_ms:>11.2f}  {extra:>+8.2f}"
            f"  {row.requests_per_second:>15.0f}  {row.errors:>6}"
        )
    for door in ("responses", "resp-native"):
        for stream in (False, True):
            chat, responses = added.get(("chat", stream)), added.get((door, stream))
            if chat and responses is not None:
                mode = "stream" if stream else "json"
                lines.append(f"{door} / chat added latency ({mode}): {responses / chat:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    raise_open_file_limit()
    if can_pin():
        pin_this_process(CLIENT_CORE)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="vandamme-bench-doors-") as directory:
        workdir = Path(directory)
        mock = start_mock(workdir)
        try:
            mock.configure(chunks=10, delay_ms=0)
            gateway = start_gateway(args.server, workdir, mock.port, native_provider_env(mock.port))
            try:
                direct = [_figures(loop, mock.port, DIRECT, stream, args) for stream in (False, True)]
                doors = [_figures(loop, gateway.port, door, s, args) for door in DOORS for s in (False, True)]
            finally:
                stop_process(gateway.process)
        finally:
            stop_process(mock.process)
    print(report(direct, doors), flush=True)
    return {"direct": [vars(row) for row in direct], "doors": [vars(row) for row in doors]}


if __name__ == "__main__":
    main()
