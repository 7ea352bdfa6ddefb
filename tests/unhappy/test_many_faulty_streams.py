"""1 000 concurrent streams through a real gateway process, 20 % of them faulty.

Half ask the Anthropic door (``/v1/messages``), half the OpenAI door
(``/v1/chat/completions``); the upstream is the mock upstream in its own process, speaking
OpenAI Chat or Anthropic Messages. Every fifth request asks for a model the mock answers
with a fault, in turn: a reset mid-stream, a cut mid-event, a short body, invalid UTF-8,
an error event inside a 200 stream, a 500 before the stream. The others get a slow
healthy stream (10 deltas, 600 ms apart), so that the 1 000 are open at the same time.

Every answer is parsed (see ``stream_verdict``): each healthy one must end properly with
all its text; each faulty one must end in a clean error in the client's dialect (an
invalid byte is the exception: it is replaced and the answer completes). Never a hang,
never garbage, never an empty success. Then the usage rows: one per request, the faulty
ones recorded as errors.
"""

import asyncio
import base64
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.processes import raise_open_file_limit, rss_mib, start_mock, stop_process
from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import stream_text
from tests.mock_upstream.replies import anthropic_stream_parts, openai_stream_parts
from tests.unhappy.stream_verdict import ANTHROPIC_DOOR, OK, OPENAI_DOOR, run_one

pytestmark = pytest.mark.integration

STREAMS = 1000
FAULTY_EVERY = 5  # 20 %
CHUNKS = 10
CHUNK_DELAY_MS = 600  # a 6 s stream: longer than the gateway takes to admit all 1 000, so they overlap
CLIENT_TIMEOUT = 45.0  # generous on a loaded 2-core machine, but bounded: past it, a hang
USAGE_TIMEOUT = 30.0
MIN_OVERLAP = STREAMS // 2  # upstream streams open at once, at the peak (968 seen on uvicorn)
GATEWAY_KEY = "vdm-many-faulty-streams-key"
HEALTHY_MODEL = "healthy-model"
HEALTHY_TEXT = stream_text(CHUNKS)
BAD_UTF8_TEXT = HEALTHY_TEXT.replace("Hello", "He\ufffdllo", 1)


def _parts(upstream: str, model: str) -> tuple[bytes, tuple[bytes, ...], bytes]:
    if upstream == "openai":
        return openai_stream_parts(model, CHUNKS, True)
    return anthropic_stream_parts(model, CHUNKS)


def _raw(parts: list[bytes], **faults: int) -> dict[str, Any]:
    """A paced raw stream of these parts, bent by the given fault keys."""
    items = [base64.b64encode(part).decode() for part in parts]
    return {"raw_b64": items, "chunk_delay_ms": CHUNK_DELAY_MS, **faults}


def _cut_in_third_delta(upstream: str, model: str, key: str) -> dict[str, Any]:
    head, deltas, tail = _parts(upstream, model)
    offset = len(head) + len(deltas[0]) + len(deltas[1]) + len(deltas[2]) // 2
    return _raw([head, *deltas, tail], **{key: offset})


def _bad_utf8(upstream: str, model: str) -> dict[str, Any]:
    head, deltas, tail = _parts(upstream, model)
    return _raw([head, deltas[0].replace(b"Hello", b"He\xffllo", 1), *deltas[1:], tail])


def _error_event(upstream: str, model: str) -> dict[str, Any]:
    head, deltas, _ = _parts(upstream, model)
    if upstream == "openai":
        error = {"error": {"message": "upstream overloaded", "type": "server_error"}}
        event = b"data: " + json.dumps(error).encode() + b"\n\n"
    else:
        error = {"type": "error", "error": {"type": "overloaded_error", "message": "upstream overloaded"}}
        event = b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n"
    return _raw([head, *deltas[:3], event])


@dataclass(frozen=True)
class Fault:
    name: str
    spec: Callable[[str, str], dict[str, Any]]  # (upstream format, upstream model) -> response spec
    text: str | None = None  # the text the client still gets, or None: a clean error is due

    @property
    def model(self) -> str:
        return f"fault-{self.name}"


FAULTS = (
    Fault("reset_mid_stream", lambda upstream, model: {"reset_after": 4}),
    Fault("cut_mid_event", lambda upstream, model: _cut_in_third_delta(upstream, model, "cut_after_bytes")),
    Fault("short_body", lambda upstream, model: _cut_in_third_delta(upstream, model, "end_after_bytes")),
    Fault("invalid_utf8", _bad_utf8, BAD_UTF8_TEXT),
    Fault("error_event_in_200", _error_event),
    Fault("status_500_before_stream", lambda upstream, model: {"status": 500}),
)


@dataclass(frozen=True)
class Plan:
    door: str
    fault: Fault | None

    @property
    def expected_text(self) -> str | None:
        return HEALTHY_TEXT if self.fault is None else self.fault.text


def plans() -> list[Plan]:
    """Deterministic: doors alternate; one pair in five is faulty, the faults in turn, so
    each fault reaches both doors about equally often."""
    out = []
    for index in range(STREAMS):
        door = (ANTHROPIC_DOOR, OPENAI_DOOR)[index % 2]
        faulty = (index // 2) % FAULTY_EVERY == 0
        out.append(Plan(door, FAULTS[(index // (2 * FAULTY_EVERY)) % len(FAULTS)] if faulty else None))
    return out


def _body(plan: Plan, prefix: str) -> dict[str, Any]:
    model = prefix + (HEALTHY_MODEL if plan.fault is None else plan.fault.model)
    body: dict[str, Any] = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    if plan.door == ANTHROPIC_DOOR:
        body["max_tokens"] = 64
    return body


def _headers(door: str) -> dict[str, str]:
    if door == ANTHROPIC_DOOR:
        return {"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"}
    return {"authorization": f"Bearer {GATEWAY_KEY}"}


async def _peak_upstream_streams(mock_origin: str, peak: list[int]) -> None:
    """Poll the mock's open streams until cancelled: proof the streams did overlap."""
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            stats = (await client.get(f"{mock_origin}/_mock/stats")).json()
            peak[0] = max(peak[0], int(stats["streams"]["active"]))
            await asyncio.sleep(0.05)


async def _run_all(
    port: int, mock_origin: str, prefix: str, all_plans: list[Plan]
) -> tuple[list[tuple[str, str]], int]:
    """Every plan's verdict, and the most upstream streams open at once."""
    peak = [0]
    poller = asyncio.ensure_future(_peak_upstream_streams(mock_origin, peak))
    try:
        verdicts = await asyncio.gather(
            *(
                run_one(port, p.door, _body(p, prefix), _headers(p.door), p.expected_text, CLIENT_TIMEOUT)
                for p in all_plans
            )
        )
    finally:
        poller.cancel()
    return list(verdicts), peak[0]


def _usage(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT model_requested, status FROM teams_usagerecord").fetchall()
    return [(str(model), int(status)) for model, status in rows]


def _wait_for_usage(database: Path, count: int) -> list[tuple[str, int]]:
    deadline = time.monotonic() + USAGE_TIMEOUT
    rows = _usage(database)
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.25)
        rows = _usage(database)
    return rows


def _tally(all_plans: list[Plan], verdicts: list[tuple[str, str]]) -> dict[str, Any]:
    """The figures the issue asks for, plus a sample of each kind of failure."""
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for plan, (verdict, detail) in zip(all_plans, verdicts, strict=True):
        group = "healthy" if plan.fault is None else "faulty"
        counts[f"{group}_total"] += 1
        counts[f"{group}_{'answered' if group == 'healthy' else 'clean'}"] += verdict == OK
        if verdict != OK:
            counts[verdict] += 1
            label = f"{plan.door} {plan.fault.name if plan.fault else 'healthy'} {verdict}"
            samples.setdefault(label, detail)
    return {"counts": dict(counts), "samples": samples}


@pytest.fixture(scope="module", autouse=True)
def _open_files() -> None:
    raise_open_file_limit()  # 1 000 client + 1 000 upstream sockets, and the gateway's


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_1000_concurrent_streams_with_20_percent_faults(tmp_path: Path, server: str, upstream: str) -> None:
    mock = start_mock(tmp_path)
    try:
        httpx.post(f"{mock.origin}/_mock/config", json={"chunks": CHUNKS, "delay_ms": CHUNK_DELAY_MS})
        rules = [{**f.spec(upstream, f.model), "match": {"model": f.model}} for f in FAULTS]
        httpx.post(f"{mock.origin}/_mock/rules", json=rules).raise_for_status()
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "UP_API_KEY": "sk-many-faulty-streams-upstream",
            "UP_BASE_URL": mock.origin + ("/v1" if upstream == "openai" else ""),
            "UP_API_FORMAT": upstream,
            "UP_MAX_RETRIES": "0",
            "VDM_DEFAULT_PROVIDER": "up",
            "VANDAMME_USAGE_FLUSH_SECONDS": "1",
        }
        with GatewayProcess(tmp_path, env, server=server) as gateway:
            assert gateway.process is not None
            rss_before = rss_mib(gateway.process.pid)
            all_plans = plans()
            started = time.monotonic()
            verdicts, peak = asyncio.run(_run_all(gateway.port, mock.origin, "up:", all_plans))
            elapsed = time.monotonic() - started
            rss_after = rss_mib(gateway.process.pid)
            rows = _wait_for_usage(tmp_path / "gateway.sqlite3", STREAMS)
            rss_settled = rss_mib(gateway.process.pid)
            log = gateway.log()
    finally:
        stop_process(mock.process)
    tally = _tally(all_plans, verdicts)
    counts = tally["counts"]
    faulty_models = {f"up:{f.model}" for f in FAULTS if f.text is None}
    errors_recorded = sum(1 for model, status in rows if model in faulty_models and status >= 400)
    answers_recorded_as_errors = sum(
        1 for model, status in rows if model not in faulty_models and status != 200
    )
    report = {
        **tally,
        "seconds": round(elapsed, 1),
        "peak_upstream_streams": peak,
        "rss_mib_before_after_flushed": [round(rss_before, 1), round(rss_after, 1), round(rss_settled, 1)],
        "usage_rows": len(rows),
        "faulty_recorded_as_errors": errors_recorded,
        "answers_recorded_as_errors": answers_recorded_as_errors,
        "statuses": dict(Counter(status for _, status in rows)),
    }
    print(f"\n{server}/{upstream}: {json.dumps(report, indent=1)}")  # noqa: T201  (the figures, with -s)
    assert peak >= MIN_OVERLAP, report  # or the 1 000 were not concurrent
    assert counts["healthy_answered"] == counts["healthy_total"], report
    assert counts["faulty_clean"] == counts["faulty_total"], report
    assert len(rows) == STREAMS, report
    breaking = sum(1 for p in all_plans if p.fault is not None and p.fault.text is None)
    assert errors_recorded == breaking, report
    assert answers_recorded_as_errors == 0, report
    assert "Traceback" not in log, log[-3000:]
