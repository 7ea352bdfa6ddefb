"""The printed table, the proxy/direct comparisons, and the PERF.md targets they meet.

Pure: figures in, text and plain data out, so the arithmetic is tested on fixed numbers."""

import math
from dataclasses import asdict, dataclass
from typing import Any

# vandamme-proxy 2.0.9's RPS at c=64 in PERF.md, measured on another machine: a check
# against it is indicative only. ``--yardstick`` measures it in the same run instead.
PERF_MD_YARDSTICK_RPS_C64 = 283.0
NOISY_PCT = 10.0  # other processes' share of a core above which a target's figures are flagged
SOAK_FLAT_MIB = 2.0  # RSS growth allowed over the second half of the soak (≈ 40 B/request)
FUZZ_RSS_BACK = 1.10  # RSS after the soak, at most this times the RSS before the fuzz

LABELS = {
    "rss_mib_idle": "RSS MiB at start, idle",
    "rps_c1": "requests/s c=1",
    "p50_ms_c1": "p50 ms c=1",
    "p99_ms_c1": "p99 ms c=1",
    "rps_c64": "requests/s c=64",
    "p50_ms_c64": "p50 ms c=64",
    "p99_ms_c64": "p99 ms c=64",
    "cpu_ms_per_request": "CPU ms/request c=64",
    "streams_per_s_c64": "streams/s c=64",
    "ttfb_ms_c1": "TTFB ms, 1 slow stream",
    "ttft_ms_c1": "TTFT ms, 1 slow stream",
    "ttfb_ms_slow64": "TTFB ms, 64 slow streams",
    "ttft_ms_slow64": "TTFT ms, 64 slow streams",
    "ttft_p99_ms_slow64": "TTFT p99 ms, 64 slow streams",
    "slow_streams_per_s_c64": "slow streams/s c=64",
    "rss_mib_slow64": "peak RSS MiB, 64 slow streams",
    "many_streams": "concurrent slow streams",
    "many_streams_peak_upstream": "  of them open at once upstream",
    "many_streams_errors": "  errors",
    "many_streams_ttft_p99_ms": "  TTFT p99 ms",
    "rss_mib_after_many_streams": "  RSS MiB after",
    "fuzz_requests": "fuzzed requests (bench.fuzz_phase)",
    "fuzz_server_errors": "  5xx answers",
    "fuzz_closed": "  closed without an answer",
    "rss_mib_before_fuzz": "  RSS MiB before",
    "rss_mib_after_fuzz": "  RSS MiB right after",
    "soak_requests": "soak requests (c=64)",
    "soak_rps": "  requests/s",
    "rss_mib_soak_start": "  RSS MiB at start",
    "rss_mib_soak_mid": "  RSS MiB at half",
    "rss_mib_soak_end": "  RSS MiB at end",
    "rss_hwm_mib": "RSS high-water MiB",
    "errors": "errors (other phases)",
    "other_load_pct_proxy_core": "others' load on proxy core %",
    "other_load_pct_client_core": "others' load on client core %",
}


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    rows = [["figure", *names]]
    rows += [[label, *(_cell(results[n].get(key)) for n in names)] for key, label in LABELS.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(names) + 1)]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom and not math.isnan(bottom) else float("nan")


def comparisons(direct: dict[str, Any], proxy: dict[str, Any]) -> dict[str, float]:
    """What a proxy adds (ms) and what it keeps (fraction of direct), from one run."""
    added = ("p50_ms_c1", "p50_ms_c64", "ttfb_ms_c1", "ttft_ms_c1", "ttfb_ms_slow64", "ttft_ms_slow64")
    kept = ("rps_c1", "rps_c64", "streams_per_s_c64")
    compared = {f"added_{key}": proxy[key] - direct[key] for key in added}
    compared |= {f"{key}_vs_direct": _ratio(proxy[key], direct[key]) for key in kept}
    return compared


@dataclass(frozen=True)
class Check:
    label: str
    value: float
    limit: float
    at_most: bool  # True: value ≤ limit; False: value ≥ limit

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        return f"  [{'ok' if self.met else 'MISSED'}] {self.label}: {self.value:,.2f}"


@dataclass(frozen=True)
class Yardstick:
    rps_c64: float
    measured: bool  # False: PERF.md's figure from another machine

    @property
    def source(self) -> str:
        return "measured in this run" if self.measured else "PERF.md figure, other machine"


def target_checks(
    figures: dict[str, Any], compared: dict[str, float], yardstick: Yardstick, *, daphne: bool, fastest: bool
) -> list[Check]:
    """PERF.md's targets. The RPS multiple of the yardstick is 2× when served by daphne and
    5× when served by the fastest server measured (both apply when daphne is the fastest)."""
    multiple = _ratio(figures["rps_c64"], yardstick.rps_c64)
    checks = [Check("added p50 c=1 ≤ 1.0 ms", compared["added_p50_ms_c1"], 1.0, at_most=True)]
    if daphne:
        checks.append(
            Check(f"RPS c=64 ≥ 2× vandamme-proxy 2.0.9 ({yardstick.source})", multiple, 2.0, at_most=False)
        )
    if fastest:
        checks.append(
            Check(f"RPS c=64 ≥ 5× vandamme-proxy 2.0.9 ({yardstick.source})", multiple, 5.0, at_most=False)
        )
    checks += [
        Check("added TTFT c=1 ≤ 1.5 ms", compared["added_ttft_ms_c1"], 1.5, at_most=True),
        Check("added TTFT, 64 slow streams ≤ 10 ms", compared["added_ttft_ms_slow64"], 10.0, at_most=True),
        Check("RSS under 64 streams ≤ 100 MiB", figures["rss_mib_slow64"], 100.0, at_most=True),
        Check(
            f"RSS flat over the soak's second half (growth ≤ {SOAK_FLAT_MIB:.0f} MiB)",
            figures["rss_mib_soak_end"] - figures["rss_mib_soak_mid"],
            SOAK_FLAT_MIB,
            at_most=True,
        ),
        Check(
            f"RSS after the soak ≤ {FUZZ_RSS_BACK:.2f}× RSS before the fuzz",
            figures.get("rss_mib_soak_end", math.nan) / figures.get("rss_mib_before_fuzz", math.nan),
            FUZZ_RSS_BACK,
            at_most=True,
        ),
        Check(
            "fuzz: no 5xx, no connection closed without an answer",
            figures.get("fuzz_server_errors", math.nan) + figures.get("fuzz_closed", math.nan),
            0,
            at_most=True,
        ),
        Check(
            f"no errors at {figures['many_streams']:.0f} concurrent streams",
            figures["many_streams_errors"],
            0,
            True,
        ),
    ]
    return checks


def _compared_lines(compared: dict[str, float]) -> list[str]:
    return [
        f"  {key}: {value:+.2f} ms" if key.startswith("added") else f"  {key}: {value:.3f}×"
        for key, value in compared.items()
    ]


def summary(
    results: dict[str, dict[str, Any]], *, gateways: list[str], yardstick_name: str | None
) -> tuple[str, dict[str, Any]]:
    """The text to print, and the comparisons and checks for the JSON result.

    ``results`` holds "direct", each gateway server and optionally the yardstick; a target
    that could not be measured holds only ``{"error": reason}``."""
    measured = {name: figures for name, figures in results.items() if "error" not in figures}
    direct = measured["direct"]
    if yardstick_name in measured:
        yardstick = Yardstick(measured[yardstick_name]["rps_c64"], measured=True)
    else:
        yardstick = Yardstick(PERF_MD_YARDSTICK_RPS_C64, measured=False)
    served = [name for name in gateways if name in measured]
    fastest = max(served, key=lambda name: measured[name]["rps_c64"], default=None)
    lines, data = [table(measured), ""], {}
    for name in [*served, *([yardstick_name] if yardstick_name in measured else [])]:
        compared = comparisons(direct, measured[name])
        if name != yardstick_name:
            compared[f"rps_c64_vs_{'yardstick' if yardstick.measured else 'perf_md_yardstick'}"] = _ratio(
                measured[name]["rps_c64"], yardstick.rps_c64
            )
        lines.append(f"{name} against the mock hit directly:")
        lines += _compared_lines(compared)
        checks: list[Check] = []
        if name != yardstick_name:
            checks = target_checks(
                measured[name], compared, yardstick, daphne=name == "daphne", fastest=name == fastest
            )
            lines.append("  PERF.md targets:")
            lines += [check.line() for check in checks]
        data[name] = {"compared": compared, "checks": [asdict(c) | {"met": c.met} for c in checks]}
    for name, figures in results.items():
        cores = ["client"] if name == "direct" else ["proxy", "client"]  # direct runs on core 1 only
        noise = max(figures.get(f"other_load_pct_{core}_core", 0.0) for core in cores)
        if noise > NOISY_PCT:
            lines.append(f"{name}: other processes took up to {noise:.0f}% of a core we use: noisy figures")
        if "error" in figures:
            lines.append(f"{name}: not measured: {figures['error']}")
        for key in ("error_samples", "many_streams_error_samples"):
            if figures.get(key):
                lines.append(f"{name}: {key.replace('_', ' ')}: {figures[key]}")
    return "\n".join(lines), data
