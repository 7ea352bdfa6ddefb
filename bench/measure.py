"""One target's figures: the same phases, in the same order, against the mock hit directly
and against each gateway server. Anthropic ``/v1/messages`` bodies in both cases, so the
load generator does identical work and only the server side differs."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from bench.loadgen import Check, Phase, build_request, percentile_ms, run_phase
from bench.processes import PROXY_KEY, Mock, cpu_seconds, status_kib

BODY = {"max_tokens": 64, "messages": [{"role": "user", "content": "Say hello"}]}
HEADERS = {"x-api-key": PROXY_KEY, "anthropic-version": "2023-06-01"}
UNBOUNDED = 10**9
RSS_SAMPLE_SECONDS = 0.05


def answered(tail: bytes) -> bool:
    return b"end_turn" in tail


def stream_finished(tail: bytes) -> bool:
    return b"message_stop" in tail


@dataclass(frozen=True)
class Plan:
    seconds: float  # each timed phase
    warmup_seconds: float
    c1_requests: int
    ttft_c1_streams: int
    concurrency: int
    chunks: int  # content deltas per stream
    delay_ms: float  # spacing of a slow stream's deltas
    many_streams: int  # 0: skip the many-concurrent-streams phase
    soak_requests: int  # 0: skip the RSS soak


@dataclass
class Target:
    name: str
    port: int
    model: str
    pid: int  # the process whose CPU (and, for a gateway, memory) is read


class Runner:
    def __init__(self, target: Target, mock: Mock, plan: Plan, loop: asyncio.AbstractEventLoop) -> None:
        self.target, self.mock, self.plan, self.loop = target, mock, plan, loop
        body = {**BODY, "model": target.model}
        self.plain = build_request(target.port, "/v1/messages", body, HEADERS)
        self.streamed = build_request(target.port, "/v1/messages", {**body, "stream": True}, HEADERS)
        self.errors: list[str] = []
        self.error_count = 0

    def _run(self, coroutine: Coroutine[Any, Any, Phase]) -> Phase:
        phase = self.loop.run_until_complete(coroutine)
        self.error_count += phase.errors
        self.errors += phase.error_samples
        return phase

    def phase(self, request: bytes, concurrency: int, *, seconds: float, count: int, check: Check) -> Phase:
        return self._run(
            run_phase(self.target.port, request, concurrency=concurrency, seconds=seconds, max_requests=count, check=check)
        )

    def phase_sampling_rss(self, request: bytes, concurrency: int, *, seconds: float, count: int) -> tuple[Phase, int]:
        """A phase, with the target's VmRSS sampled while it runs; returns the highest sample."""
        peak = [0]

        async def sample() -> None:
            while True:
                peak[0] = max(peak[0], status_kib(self.target.pid, "VmRSS"))
                await asyncio.sleep(RSS_SAMPLE_SECONDS)

        async def measured() -> Phase:
            sampler = asyncio.ensure_future(sample())
            try:
                return await run_phase(
                    self.target.port, request, concurrency=concurrency, seconds=seconds, max_requests=count,
                    check=stream_finished,
                )  # fmt: skip
            finally:
                sampler.cancel()

        return self._run(measured()), peak[0]

    def measure(self) -> dict[str, Any]:
        plan, c = self.plan, self.plan.concurrency
        self.mock.configure(chunks=plan.chunks, delay_ms=0)
        self.phase(self.plain, 8, seconds=plan.warmup_seconds, count=UNBOUNDED, check=answered)
        self.phase(self.streamed, 8, seconds=plan.warmup_seconds / 2, count=UNBOUNDED, check=stream_finished)
        c1 = self.phase(self.plain, 1, seconds=plan.seconds, count=plan.c1_requests, check=answered)
        cpu_before = cpu_seconds(self.target.pid)
        cn = self.phase(self.plain, c, seconds=plan.seconds, count=UNBOUNDED, check=answered)
        cpu_used = cpu_seconds(self.target.pid) - cpu_before
        streams = self.phase(self.streamed, c, seconds=plan.seconds, count=UNBOUNDED, check=stream_finished)
        self.mock.configure(chunks=plan.chunks, delay_ms=plan.delay_ms)
        try:
            ttft1 = self.phase(self.streamed, 1, seconds=plan.seconds * 3, count=plan.ttft_c1_streams, check=stream_finished)
            slow, rss_kib = self.phase_sampling_rss(self.streamed, c, seconds=plan.seconds, count=UNBOUNDED)
            extra = self._optional_phases()
        finally:
            self.mock.configure(chunks=plan.chunks, delay_ms=0)
        return {
            "p50_ms_c1": percentile_ms(c1.latencies, 0.5),
            "p99_ms_c1": percentile_ms(c1.latencies, 0.99),
            "rps_c1": c1.per_second,
            f"rps_c{c}": cn.per_second,
            f"p50_ms_c{c}": percentile_ms(cn.latencies, 0.5),
            f"p99_ms_c{c}": percentile_ms(cn.latencies, 0.99),
            f"cpu_ms_per_request_c{c}": cpu_used * 1000 / cn.completed if cn.completed else float("nan"),
            f"streams_per_s_c{c}": streams.per_second,
            "ttfb_ms_c1": percentile_ms(ttft1.first_bytes, 0.5),
            "ttft_ms_c1": percentile_ms(ttft1.first_tokens, 0.5),
            f"ttft_ms_c{c}_slow": percentile_ms(slow.first_tokens, 0.5),
            f"ttft_p99_ms_c{c}_slow": percentile_ms(slow.first_tokens, 0.99),
            f"slow_streams_done_c{c}": float(slow.completed),
            f"rss_mib_{c}_streams": rss_kib / 1024,
            **extra,
            "rss_hwm_mib": status_kib(self.target.pid, "VmHWM") / 1024,
            "errors": float(self.error_count),
        }

    def _optional_phases(self) -> dict[str, float]:
        plan, figures = self.plan, {}
        if plan.many_streams:
            many = self.phase(
                self.streamed, plan.many_streams, seconds=60, count=plan.many_streams, check=stream_finished
            )
            figures[f"errors_{plan.many_streams}_streams"] = float(many.errors)
            figures[f"ttft_p99_ms_{plan.many_streams}_streams"] = percentile_ms(many.first_tokens, 0.99)
        if plan.soak_requests:
            self.mock.configure(chunks=plan.chunks, delay_ms=0)
            before = status_kib(self.target.pid, "VmRSS")
            self.phase(self.plain, plan.concurrency, seconds=3600, count=plan.soak_requests, check=answered)
            figures[f"rss_growth_mib_{plan.soak_requests}_requests"] = (
                status_kib(self.target.pid, "VmRSS") - before
            ) / 1024
        return figures
