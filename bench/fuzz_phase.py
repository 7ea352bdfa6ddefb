"""The fuzz phase of a benchmark run: the seeded hostile and careless requests of
``tests.unhappy.fuzz`` sent over keep-alive sockets to a running gateway, with its RSS
read before, right after, and after an ordinary soak (issue 10: RSS grew from 85 to
236 MiB over 10 009 fuzzed requests and never came back)."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.loadgen import read_response
from bench.processes import PROXY_KEY
from tests.unhappy.fuzz import CHAT, COUNT_TOKENS, MESSAGES, Fuzzer, FuzzRequest

FUZZ_SEED = 20261204
FUZZ_CONCURRENCY = 8
READER_LIMIT = 1 << 20
RESPONSE_SECONDS = 30.0


@dataclass
class FuzzRun:
    statuses: Counter[int] = field(default_factory=Counter)
    closed: int = 0  # connections closed without an answer

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + self.closed

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


def bench_fuzz_requests(model: str, count: int, seed: int = FUZZ_SEED) -> Iterator[FuzzRequest]:
    """The fuzz for the bench's gateway: one OpenAI-format provider, the default, behind a
    gateway key."""
    fuzzer = Fuzzer(
        seed,
        models={MESSAGES: [model], CHAT: [model], COUNT_TOKENS: [model]},
        counted_locally=model,
        headers={b"x-api-key": PROXY_KEY.encode()},
    )
    return fuzzer.requests(count)


async def _exchange(port: int, request: FuzzRequest, run: FuzzRun) -> None:
    """One request on its own connection: hostile requests often end theirs."""
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READER_LIMIT)
        writer.write(request.http_bytes(f"127.0.0.1:{port}"))
        await writer.drain()
        response = await asyncio.wait_for(read_response(reader, 0.0), RESPONSE_SECONDS)
        run.statuses[response.status] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
        run.closed += 1
    finally:
        if writer is not None:
            writer.close()


async def send_fuzz(
    port: int, requests: Iterator[FuzzRequest], concurrency: int = FUZZ_CONCURRENCY
) -> FuzzRun:
    run = FuzzRun()

    async def worker() -> None:
        for request in requests:  # one shared iterator: each request is sent once
            await _exchange(port, request, run)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return run
