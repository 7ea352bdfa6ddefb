"""The benchmark's building blocks, fast, so bench/ cannot rot silently: the load generator
against the mock, one miniature measurement through the mock process, /proc readings, and
the report's arithmetic on fixed numbers."""

import asyncio
import functools
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.loadgen import build_request, percentile_ms, run_phase
from bench.measure import HEADERS, Plan, Runner, Target, answered, median_figures, stream_finished
from bench.processes import core_busy_seconds, cpu_seconds, rss_mib, start_gateway, start_mock, stop_process
from bench.report import Yardstick, comparisons, summary, table, target_checks
from tests.mock_upstream import MockUpstream

BODY = {"model": "bench", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
TINY = Plan(
    seconds=0.1,
    warmup_seconds=0.05,
    repeat=1,
    ttft_c1_streams=2,
    many_streams=20,
    soak_requests=100,
    chunks=3,
    delay_ms=2,
    many_chunks=3,
)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    with MockUpstream(record=False) as upstream:
        yield upstream


def test_percentile_is_nearest_rank_in_ms() -> None:
    values = [0.001 * i for i in range(1, 101)]  # 1 … 100 ms
    assert percentile_ms(values, 0.5) == pytest.approx(50)
    assert percentile_ms(values, 0.99) == pytest.approx(99)
    assert percentile_ms([0.002], 0.99) == pytest.approx(2)
    assert math.isnan(percentile_ms([], 0.5))


async def test_load_generator_reads_whole_answers_and_streams(mock: MockUpstream) -> None:
    plain = build_request(mock.port, "/v1/messages", BODY, HEADERS)
    phase = await run_phase(mock.port, plain, concurrency=4, seconds=0.2, max_requests=10**6, check=answered)
    assert phase.errors == 0, phase.error_samples
    assert phase.completed > 20
    assert phase.per_second > 0

    mock.configure(chunks=3, delay_ms=5)
    streamed = build_request(mock.port, "/v1/messages", {**BODY, "stream": True}, HEADERS)
    streams = await run_phase(
        mock.port, streamed, concurrency=2, seconds=5, max_requests=4, check=stream_finished
    )
    mock.configure(delay_ms=0)
    assert (streams.completed, streams.errors) == (4, 0)
    assert len(streams.first_tokens) == 4
    # The first delta comes with the head; the rest follow 5 ms apart.
    assert all(
        first <= whole - 0.008 for first, whole in zip(streams.first_tokens, streams.latencies, strict=True)
    )


async def test_load_generator_counts_wrong_answers_as_errors(mock: MockUpstream) -> None:
    missing = build_request(mock.port, "/v1/nowhere", BODY, HEADERS)
    phase = await run_phase(mock.port, missing, concurrency=2, seconds=5, max_requests=6, check=answered)
    assert (phase.completed, phase.errors) == (0, 6)
    assert phase.error_samples[0].startswith("status 404")


def test_a_miniature_measurement_through_the_mock_process(tmp_path: Path) -> None:
    process_mock = start_mock(tmp_path)
    loop = asyncio.new_event_loop()
    try:
        target = Target("direct", process_mock.port, "bench", process_mock.process.pid)
        figures = Runner(target, process_mock, TINY, loop).measure()
    finally:
        loop.close()
        stop_process(process_mock.process)
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["many_streams_errors"] == 0
    assert figures["many_streams_completed"] == TINY.many_streams
    assert figures["rps_c64"] > 0
    assert figures["streams_per_s_c64"] > 0
    assert figures["ttft_ms_c1"] >= 0
    assert figures["rss_mib_slow64"] > 0
    assert figures["rss_mib_soak_end"] > 0
    assert len(figures["rss_mib_soak_samples"]) == 11
    text, _ = summary({"direct": figures}, gateways=[], yardstick_name=None)
    assert "requests/s c=64" in text


def test_proc_readings_of_this_process() -> None:
    assert cpu_seconds(os.getpid()) > 0
    assert 1 < rss_mib(os.getpid()) < 4096
    assert core_busy_seconds(0) > 0
    assert math.isnan(cpu_seconds(2**22 + 1))  # beyond pid_max: no such process


def test_median_ignores_rounds_where_a_figure_is_missing() -> None:
    rounds = [{"a": 1.0, "b": math.nan}, {"a": 3.0, "b": 4.0}, {"a": 2.0, "b": math.nan}]
    assert median_figures(rounds) == {"a": 2.0, "b": 4.0}


DIRECT = {
    "p50_ms_c1": 0.10,
    "p50_ms_c64": 2.0,
    "rps_c1": 9000.0,
    "rps_c64": 40000.0,
    "streams_per_s_c64": 10000.0,
    "ttfb_ms_c1": 0.2,
    "ttft_ms_c1": 0.2,
    "ttfb_ms_slow64": 1.0,
    "ttft_ms_slow64": 1.0,
}
GATEWAY = {
    **DIRECT,
    "p50_ms_c1": 0.90,  # +0.8 ms: ok
    "rps_c64": 1500.0,
    "ttft_ms_c1": 2.2,  # +2.0 ms: missed
    "ttft_ms_slow64": 9.0,  # +8.0 ms: ok
    "rss_mib_slow64": 120.0,  # missed
    "rss_mib_soak_mid": 80.0,
    "rss_mib_soak_end": 81.5,  # +1.5 MiB: flat
    "rss_mib_before_fuzz": 76.0,  # ×1.07 after the soak: ok
    "fuzz_server_errors": 0.0,
    "fuzz_closed": 1.0,  # missed
    "many_streams": 1000.0,
    "many_streams_errors": 0.0,
}


def test_comparisons_are_differences_and_ratios() -> None:
    compared = comparisons(DIRECT, GATEWAY)
    assert compared["added_p50_ms_c1"] == pytest.approx(0.8)
    assert compared["added_ttft_ms_c1"] == pytest.approx(2.0)
    assert compared["rps_c64_vs_direct"] == pytest.approx(0.0375)


def test_targets_marked_ok_or_missed() -> None:
    compared = comparisons(DIRECT, GATEWAY)
    checks = target_checks(GATEWAY, compared, Yardstick(500.0, measured=True), daphne=True, fastest=True)
    met = {check.label.split(" (")[0]: check.met for check in checks}
    assert met == {
        "added p50 c=1 ≤ 1.0 ms": True,
        "RPS c=64 ≥ 2× vandamme-proxy 2.0.9": True,  # 3×
        "RPS c=64 ≥ 5× vandamme-proxy 2.0.9": False,
        "added TTFT c=1 ≤ 1.5 ms": False,
        "added TTFT, 64 slow streams ≤ 10 ms": True,
        "RSS under 64 streams ≤ 100 MiB": False,
        "RSS flat over the soak's second half": True,
        "RSS after the soak ≤ 1.10× RSS before the fuzz": True,
        "fuzz: no 5xx, no connection closed without an answer": False,
        "no errors at 1000 concurrent streams": True,
    }
    assert checks[2].line() == "  [MISSED] RPS c=64 ≥ 5× vandamme-proxy 2.0.9 (measured in this run): 3.00"


def test_summary_uses_the_measured_yardstick_and_reports_what_failed() -> None:
    results = {
        "direct": DIRECT,
        "daphne": GATEWAY,
        "uvicorn": {"error": "uvicorn exited at start"},
        "vandamme-proxy-2.0.9": {**DIRECT, "rps_c64": 300.0},
    }
    text, data = summary(results, gateways=["daphne", "uvicorn"], yardstick_name="vandamme-proxy-2.0.9")
    assert data["daphne"]["compared"]["rps_c64_vs_yardstick"] == pytest.approx(5.0)
    assert [c["met"] for c in data["daphne"]["checks"]][1:3] == [True, True]  # 2× and 5× (fastest)
    assert data["vandamme-proxy-2.0.9"]["checks"] == []  # the targets are vandamme's, not its
    assert "uvicorn: not measured: uvicorn exited at start" in text
    assert table({"direct": DIRECT}).splitlines()[0].split() == ["figure", "direct"]


def test_a_miniature_fuzz_then_soak_through_a_real_gateway(tmp_path: Path) -> None:
    """The bench's fuzz phase against uvicorn: every fuzzed request answered without a 5xx,
    and RSS after the soak back within 10 % of before the fuzz (issue 10, item 15)."""
    process_mock = start_mock(tmp_path)
    gateway = start_gateway("uvicorn", tmp_path, process_mock.port)
    loop = asyncio.new_event_loop()
    plan = Plan(
        seconds=0.1, warmup_seconds=0.05, repeat=1, ttft_c1_streams=1, many_streams=1, soak_requests=300,
        fuzz_requests=300,
    )  # fmt: skip
    try:
        runner = Runner(Target("uvicorn", gateway.port, "bench", gateway.pid), process_mock, plan, loop)
        idle = rss_mib(gateway.pid)
        runner.warm_up()
        figures = runner.fuzz() | runner.soak()
    finally:
        loop.close()
        stop_process(gateway.process)
        stop_process(process_mock.process)
    assert figures["fuzz_requests"] == plan.fuzz_requests
    assert (figures["fuzz_server_errors"], figures["fuzz_closed"]) == (0, 0)
    assert figures["rss_mib_soak_end"] <= 1.10 * figures["rss_mib_before_fuzz"], figures
    # First use of every path included: the BPE token counter alone (~140 MiB) used to
    # stay in the gateway after the first count_tokens.
    assert figures["rss_mib_soak_end"] - idle < 40, (idle, figures)


def test_the_workers_report_gives_the_ratio_to_the_first_count() -> None:
    from bench.workers import Figures, report

    lines = report([Figures(1, 100.0, 0, 0.9, 0.6), Figures(2, 190.0, 0, 1.3, 0.7)]).splitlines()
    assert lines[1].split() == ["1", "100", "1.00", "0.90", "0.60", "0"]
    assert lines[2].split() == ["2", "190", "1.90", "1.30", "0.70", "0"]


def test_every_door_of_the_doors_bench_counts_the_gateways_whole_answers_as_complete(tmp_path: Path) -> None:
    """bench.doors' completeness checks against the real gateway: a check that never matches
    makes a door's figures all errors (the Responses door's once were: its status sits at the
    head of the body, beyond the tail the check sees)."""
    from bench.doors import DIRECT, DOORS, native_provider_env

    process_mock = start_mock(tmp_path)
    gateway = start_gateway("uvicorn", tmp_path, process_mock.port, native_provider_env(process_mock.port))
    loop = asyncio.new_event_loop()
    try:
        for door, port in [(DIRECT, process_mock.port), *[(door, gateway.port) for door in DOORS]]:
            for stream in (False, True):
                request = build_request(port, door.path, door.body(stream), HEADERS)

                complete = functools.partial(_door_done, door.done, stream)
                phase = loop.run_until_complete(
                    run_phase(port, request, concurrency=2, seconds=5, max_requests=4, check=complete)
                )
                assert phase.errors == 0, (door.name, stream, phase.error_samples)
                assert phase.completed == 4
    finally:
        loop.close()
        stop_process(gateway.process)
        stop_process(process_mock.process)


def _door_done(done: Callable[[bytes, bool], bool], stream: bool, tail: bytes) -> bool:
    return done(tail, stream)


def test_the_canned_upstream_answers_every_request_of_a_kept_alive_connection(tmp_path: Path) -> None:
    """bench.workers' upstream: whole answers, request after request on a connection, and the
    gateway turns them into whole Anthropic answers."""
    canned = start_mock(tmp_path, pin=False, canned=True)
    gateway = start_gateway("uvicorn", tmp_path, canned.port)
    loop = asyncio.new_event_loop()
    try:
        direct = build_request(canned.port, "/v1/chat/completions", BODY, HEADERS)
        phase = loop.run_until_complete(
            run_phase(canned.port, direct, concurrency=2, seconds=5, max_requests=50, check=_chat_answered)
        )
        assert (phase.completed, phase.errors) == (50, 0)
        through = build_request(gateway.port, "/v1/messages", {**BODY, "model": "bench"}, HEADERS)
        phase = loop.run_until_complete(
            run_phase(gateway.port, through, concurrency=2, seconds=5, max_requests=10, check=answered)
        )
        assert (phase.completed, phase.errors) == (10, 0), phase.error_samples
    finally:
        loop.close()
        stop_process(gateway.process)
        stop_process(canned.process)


def _chat_answered(tail: bytes) -> bool:
    return b'"finish_reason":"stop"' in tail
