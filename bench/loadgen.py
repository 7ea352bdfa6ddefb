"""Keep-alive HTTP/1.1 load generator on raw asyncio sockets (cheap per request, so the
figures measure the server, not the client)."""

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # whole response, seconds
    first_bytes: list[float] = field(default_factory=list)  # first body byte, seconds
    errors: int = 0
    elapsed: float = 0.0

    def pct(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def build_request(path: str, body: dict[str, object], port: int) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"x-api-key: bench\r\nanthropic-version: 2023-06-01\r\ncontent-length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader, started: float) -> tuple[int, float]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = head.lower()
    first_byte = 0.0
    if b"transfer-encoding: chunked" in headers:
        while True:
            size = int((await reader.readline()).strip(), 16)
            if not first_byte:
                first_byte = time.perf_counter() - started
            if size == 0:
                await reader.readline()
                break
            await reader.readexactly(size + 2)
    else:
        length = int(headers.split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        first_byte = time.perf_counter() - started
    return status, first_byte


async def _worker(port: int, request: bytes, result: Result, deadline: float, budget: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status, first_byte = await _read_response(reader, started)
            if status != 200:
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - started)
            result.first_bytes.append(first_byte)
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        result.errors += 1
    finally:
        writer.close()


async def run_load(
    port: int, request: bytes, *, concurrency: int, seconds: float, max_requests: int
) -> Result:
    result = Result()
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_worker(port, request, result, deadline, budget) for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result
