"""One target's figures: the same phases, in the same order, against the mock hit directly
and against each proxy. Anthropic ``/v1/messages`` bodies in every case, so the load
generator does identical work and only the server side differs."""

import asyncio
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.fuzz_phase import FUZZ_SEED, bench_fuzz_requests, send_fuzz
from bench.loadgen import ERROR_SAMPLES, Check, Phase, build_request, percentile_ms, run_phase
from bench.processes import (
    CLIENT_CORE,
    GATEWAY_CORE,
    PROXY_KEY,
    Mock,
    core_busy_seconds,
    cpu_seconds,
    rss_mib,
    status_kib,
)

BODY = {"max_tokens": 64, "messages": [{"role": "user", "content": "Say hello"}]}
HEADERS = {"x-api-key": PROXY_KEY, "anthropic-version": "2023-06-01"}
CONCURRENCY = 64  # PERF.md's figures are at 64 concurrent connections
UNBOUNDED = 10**9
SAMPLE_SECONDS = 0.05
SOAK_SLICES = 10  # RSS is read after each tenth of the soak
MANY_STREAMS_SECONDS = 120.0
FUZZ_FIRST_PASS = 200


def answered(tail: bytes) -> bool:
    return b"end_turn" in tail


def stream_finished(tail: bytes) -> bool:
    return b"message_stop" in tail


@dataclass(frozen=True)
class Plan:
    seconds: float  # each timed phase
    warmup_seconds: float
    repeat: int  # rounds of the timed phases; each figure is the median of the rounds
    ttft_c1_streams: int
    many_streams: int  # concurrent slow streams in the error check
    soak_requests: int
    chunks: int = 10  # content deltas per stream
    many_chunks: int = 50  # per stream of the many-streams check: ≥ 1 s each, so they overlap
    delay_ms: float = 20.0  # spacing of a slow stream's deltas
    fuzz_requests: int = 1_000  # hostile and careless requests (bench.fuzz_phase) before the soak


FULL = Plan(
    seconds=5.0,
    warmup_seconds=2.0,
    repeat=3,
    ttft_c1_streams=25,
    many_streams=1000,
    soak_requests=100_000,
    fuzz_requests=10_000,
)
QUICK = Plan(
    seconds=1.0, warmup_seconds=0.5, repeat=1, ttft_c1_streams=5, many_streams=200, soak_requests=5_000
)


@dataclass
class Target:
    name: str
    port: int
    model: str
    pid: int  # the process whose CPU and memory are read (for "direct": the mock's)


def median_figures(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds, ignoring rounds where it was not measured."""
    merged: dict[str, float] = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds if not math.isnan(r[key])]
        merged[key] = statistics.median(values) if values else float("nan")
    return merged


async def _sampled(measured: Awaitable[Phase], sample: Callable[[], Awaitable[float]]) -> tuple[Phase, float]:
    """Run a phase while sampling something every SAMPLE_SECONDS; returns the highest sample."""
    peak = [0.0]

    async def sampler() -> None:
        while True:
            peak[0] = max(peak[0], await sample())
            await asyncio.sleep(SAMPLE_SECONDS)

    task = asyncio.ensure_future(sampler())
    try:
        return await measured, peak[0]
    finally:
        task.cancel()


class Runner:
    def __init__(self, target: Target, mock: Mock, plan: Plan, loop: asyncio.AbstractEventLoop) -> None:
        self.target, self.mock, self.plan, self.loop = target, mock, plan, loop
        body = {**BODY, "model": target.model}
        self.plain = build_request(target.port, "/v1/messages", body, HEADERS)
        self.streamed = build_request(target.port, "/v1/messages", {**body, "stream": True}, HEADERS)
        self.error_samples: list[str] = []
        self.error_count = 0

    # --- phases --------------------------------------------------------------------------

    def _tally(self, phase: Phase) -> None:
        self.error_count += phase.errors
        self.error_samples += phase.error_samples[: ERROR_SAMPLES - len(self.error_samples)]

    def _load(self, request: bytes, concurrency: int, *, seconds: float, count: int, check: Check) -> Phase:
        phase = self.loop.run_until_complete(
            run_phase(
                self.target.port,
                request,
                concurrency=concurrency,
                seconds=seconds,
                max_requests=count,
                check=check,
            )
        )
        self._tally(phase)
        return phase

    def _streams_sampled(
        self, sample: Callable[[], Awaitable[float]], concurrency: int, *, seconds: float, count: int
    ) -> tuple[Phase, float]:
        """Streams while ``sample`` is read every SAMPLE_SECONDS; the phase and the highest sample."""
        phase_run = run_phase(
            self.target.port, self.streamed, concurrency=concurrency, seconds=seconds, max_requests=count,
            check=stream_finished,
        )  # fmt: skip
        return self.loop.run_until_complete(_sampled(phase_run, sample))

    async def _rss(self) -> float:
        return rss_mib(self.target.pid)

    def _pace(self, delay_ms: float, chunks: int | None = None) -> None:
        self.mock.configure(chunks=self.plan.chunks if chunks is None else chunks, delay_ms=delay_ms)

    # --- what is measured ---------------------------------------------------------------

    def warm_up(self) -> None:
        self._pace(0)
        seconds = self.plan.warmup_seconds
        self._load(self.plain, 8, seconds=seconds, count=UNBOUNDED, check=answered)
        self._load(self.streamed, 8, seconds=seconds / 2, count=UNBOUNDED, check=stream_finished)

    def timed_round(self) -> dict[str, float]:
        """Plain requests at c=1 and c=64, fast streams at c=64, then 20 ms-paced streams:
        one at a time, and 64 at once with the RSS sampled."""
        plan, c = self.plan, CONCURRENCY
        self._pace(0)
        c1 = self._load(self.plain, 1, seconds=plan.seconds, count=UNBOUNDED, check=answered)
        cpu_before = cpu_seconds(self.target.pid)
        cn = self._load(self.plain, c, seconds=plan.seconds, count=UNBOUNDED, check=answered)
        cpu_used = cpu_seconds(self.target.pid) - cpu_before
        streams = self._load(self.streamed, c, seconds=plan.seconds, count=UNBOUNDED, check=stream_finished)
        self._pace(plan.delay_ms)
        try:
            slow1 = self._load(
                self.streamed, 1, seconds=60, count=plan.ttft_c1_streams, check=stream_finished
            )
            slow, rss_peak = self._streams_sampled(self._rss, c, seconds=plan.seconds, count=UNBOUNDED)
            self._tally(slow)
        finally:
            self._pace(0)
        return {
            "rps_c1": c1.per_second,
            "p50_ms_c1": percentile_ms(c1.latencies, 0.5),
            "p99_ms_c1": percentile_ms(c1.latencies, 0.99),
            "rps_c64": cn.per_second,
            "p50_ms_c64": percentile_ms(cn.latencies, 0.5),
            "p99_ms_c64": percentile_ms(cn.latencies, 0.99),
            "cpu_ms_per_request": cpu_used * 1000 / cn.completed if cn.completed else float("nan"),
            "streams_per_s_c64": streams.per_second,
            "ttfb_ms_c1": percentile_ms(slow1.first_bytes, 0.5),
            "ttft_ms_c1": percentile_ms(slow1.first_tokens, 0.5),
            "ttfb_ms_slow64": percentile_ms(slow.first_bytes, 0.5),
            "ttft_ms_slow64": percentile_ms(slow.first_tokens, 0.5),
            "ttft_p99_ms_slow64": percentile_ms(slow.first_tokens, 0.99),
            "slow_streams_per_s_c64": slow.per_second,
            "rss_mib_slow64": rss_peak,
        }

    def many_streams(self) -> dict[str, Any]:
        """``many_streams`` connections at once, one 20 ms-paced stream each; the mock's count
        of streams open at once shows they really overlapped."""
        plan = self.plan
        client = httpx.AsyncClient(base_url=self.mock.origin)

        async def upstream_streams() -> float:
            return float((await client.get("/_mock/stats")).json()["streams"]["active"])

        self._pace(plan.delay_ms, plan.many_chunks)
        try:
            many, peak = self._streams_sampled(
                upstream_streams, plan.many_streams, seconds=MANY_STREAMS_SECONDS, count=plan.many_streams
            )
        finally:
            self.loop.run_until_complete(client.aclose())
            self._pace(0)
        return {
            "many_streams": float(plan.many_streams),
            "many_streams_completed": float(many.completed),
            "many_streams_errors": float(many.errors),
            "many_streams_error_samples": many.error_samples,
            "many_streams_peak_upstream": peak,
            "many_streams_ttft_p99_ms": percentile_ms(many.first_tokens, 0.99),
            "rss_mib_after_many_streams": rss_mib(self.target.pid),
        }

    def fuzz(self) -> dict[str, Any]:
        """The seeded fuzz of both doors and count_tokens, RSS read before and right after;
        the soak that follows shows whether it comes back."""
        if self.target.name == "direct":  # the mock is no gateway: nothing to judge
            return {}
        # A first pass takes every path once (imports, the token counter's helper, pools):
        # what is measured is growth with the number of requests, not first use.
        first_pass = bench_fuzz_requests(self.target.model, FUZZ_FIRST_PASS, seed=FUZZ_SEED + 1)
        self.loop.run_until_complete(send_fuzz(self.target.port, first_pass))
        before = rss_mib(self.target.pid)
        requests = bench_fuzz_requests(self.target.model, self.plan.fuzz_requests)
        run = self.loop.run_until_complete(send_fuzz(self.target.port, requests))
        return {
            "fuzz_requests": float(run.total),
            "fuzz_server_errors": float(run.server_errors),
            "fuzz_closed": float(run.closed),
            "rss_mib_before_fuzz": before,
            "rss_mib_after_fuzz": rss_mib(self.target.pid),
        }

    def soak(self) -> dict[str, Any]:
        """``soak_requests`` plain requests at c=64, RSS read after each tenth."""
        self._pace(0)
        per_slice = max(1, self.plan.soak_requests // SOAK_SLICES)
        samples = [rss_mib(self.target.pid)]
        completed, elapsed = 0, 0.0
        for _ in range(SOAK_SLICES):
            part = self._load(self.plain, CONCURRENCY, seconds=3600, count=per_slice, check=answered)
            completed, elapsed = completed + part.completed, elapsed + part.elapsed
            samples.append(rss_mib(self.target.pid))
        return {
            "soak_requests": float(per_slice * SOAK_SLICES),
            "soak_rps": completed / elapsed if elapsed else float("nan"),
            "rss_mib_soak_start": samples[0],
            "rss_mib_soak_mid": samples[SOAK_SLICES // 2],
            "rss_mib_soak_end": samples[-1],
            "rss_mib_soak_samples": samples,
        }

    def _foreign_busy(self) -> tuple[float, float]:
        """CPU seconds spent so far on the proxy core and on the client core by processes
        other than ours (the proxy; the mock and this load generator)."""
        on_client_core = cpu_seconds(self.mock.process.pid) + sum(os.times()[:2])
        on_proxy_core = 0.0 if self.target.pid == self.mock.process.pid else cpu_seconds(self.target.pid)
        return (
            core_busy_seconds(GATEWAY_CORE) - on_proxy_core,
            core_busy_seconds(CLIENT_CORE) - on_client_core,
        )

    def measure(self) -> dict[str, Any]:
        figures: dict[str, Any] = {"rss_mib_idle": rss_mib(self.target.pid)}
        self.warm_up()
        before = self._foreign_busy()
        started = time.monotonic()
        rounds = [self.timed_round() for _ in range(self.plan.repeat)]
        wall = time.monotonic() - started
        figures |= median_figures(rounds)
        # Other sessions' processes on our cores while the timed rounds ran: the noise.
        after = self._foreign_busy()
        figures["other_load_pct_proxy_core"] = max(0.0, after[0] - before[0]) * 100 / wall
        figures["other_load_pct_client_core"] = max(0.0, after[1] - before[1]) * 100 / wall
        figures |= self.many_streams()
        figures |= self.fuzz()
        figures |= self.soak()
        figures["rss_hwm_mib"] = status_kib(self.target.pid, "VmHWM") / 1024
        figures["errors"] = float(self.error_count)
        figures["error_samples"] = self.error_samples
        return figures
