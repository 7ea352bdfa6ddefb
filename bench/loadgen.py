"""Keep-alive HTTP/1.1 load generator on raw asyncio sockets.

Cheap per request (no HTTP library), so the figures measure the server and not the client.
Every worker holds one connection and sends the same request back to back until the request
budget or the deadline runs out. Per response it records the whole-response latency, the time
to the first body byte and the time to the first token (the first ``text_delta`` carrying
text), and checks that the answer is complete.
"""

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A text delta with at least one character: some proxies send an empty delta first, which
# is not a token the user sees. Spaces allowed, for servers that pretty-print JSON.
FIRST_TOKEN = re.compile(rb'"text_delta",\s*"text":\s*"[^"]')
TAIL_BYTES = 512  # what a completeness check sees of a body: its end
READER_LIMIT = 1 << 20
GRACE_SECONDS = 30.0  # how long a response may run past the phase's deadline
ERROR_SAMPLES = 5


@dataclass
class Phase:
    """What one measurement saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, whole response
    first_bytes: list[float] = field(default_factory=list)  # seconds to the first body byte
    first_tokens: list[float] = field(default_factory=list)  # seconds to the first text delta
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.completed / self.elapsed if self.elapsed else 0.0

    def note_error(self, reason: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(reason)


def percentile_ms(values: list[float], quantile: float) -> float:
    """The nearest-rank percentile, in milliseconds (NaN when there is nothing to rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(quantile * len(ordered)) - 1))
    return ordered[rank] * 1000


def build_request(port: int, path: str, body: dict[str, object], headers: dict[str, str]) -> bytes:
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "content-type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"content-length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass
class _Response:
    status: int = 0
    first_byte: float = 0.0
    first_token: float = 0.0
    tail: bytes = b""  # the last bytes of the body, to check that it is complete
    keep_alive: bool = True


def _header_value(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().lower()
    return None


def _see_body(response: _Response, data: bytes, started: float) -> None:
    now = time.perf_counter() - started
    if not response.first_byte:
        response.first_byte = now
    if not response.first_token and FIRST_TOKEN.search(data):
        response.first_token = now
    response.tail = (response.tail + data)[-TAIL_BYTES:]


async def _read_chunked(reader: asyncio.StreamReader, response: _Response, started: float) -> None:
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size + 2)
        _see_body(response, data[:-2], started)


async def read_response(reader: asyncio.StreamReader, started: float) -> _Response:
    head = await reader.readuntil(b"\r\n\r\n")
    response = _Response(status=int(head.split(b" ", 2)[1]))
    response.keep_alive = _header_value(head, b"connection") != b"close"
    if _header_value(head, b"transfer-encoding") == b"chunked":
        await _read_chunked(reader, response, started)
    elif (length := _header_value(head, b"content-length")) is not None:
        _see_body(response, await reader.readexactly(int(length)), started)
    else:  # delimited by the end of the connection
        _see_body(response, await reader.read(), started)
        response.keep_alive = False
    return response


Check = Callable[[bytes], bool]


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, limit=READER_LIMIT)


async def _worker(
    port: int, request: bytes, phase: Phase, deadline: float, budget: list[int], check: Check
) -> None:
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await _connect(port)
        # Every connection sends at least one request, so a phase shorter than the time it
        # takes to open its connections (a busy CI machine) still measures something.
        sent_one = False
        while budget[0] > 0 and (not sent_one or time.perf_counter() < deadline):
            sent_one = True
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            response = await read_response(reader, started)
            if response.status != 200 or not check(response.tail):
                phase.note_error(f"status {response.status}: {response.tail[-120:]!r}")
            else:
                phase.latencies.append(time.perf_counter() - started)
                phase.first_bytes.append(response.first_byte)
                if response.first_token:
                    phase.first_tokens.append(response.first_token)
            if not response.keep_alive:
                writer.close()
                reader, writer = await _connect(port)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        phase.note_error(f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()


async def run_phase(
    port: int, request: bytes, *, concurrency: int, seconds: float, max_requests: int, check: Check
) -> Phase:
    """``concurrency`` connections, each sending ``request`` until ``max_requests`` have been
    sent in all or ``seconds`` have passed (each connection sends at least one). A worker
    still waiting for an answer ``GRACE_SECONDS`` after the deadline is cancelled and
    counted as an error."""
    phase = Phase()
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + seconds
    workers = [
        asyncio.ensure_future(_worker(port, request, phase, deadline, budget, check))
        for _ in range(concurrency)
    ]
    _, stuck = await asyncio.wait(workers, timeout=seconds + GRACE_SECONDS)
    for worker in stuck:
        worker.cancel()
        phase.note_error(f"no answer within {GRACE_SECONDS:.0f} s of the deadline")
    if stuck:
        await asyncio.wait(stuck)
    phase.elapsed = time.perf_counter() - started
    return phase
