"""The printed table, the gateway/direct comparisons, and the PERF.md targets they meet."""

import math
from typing import Any

# vandamme-proxy 2.0.9's RPS at c=64 in PERF.md: measured on another machine, so a check
# against it is indicative only; run the yardstick in the same run for a real comparison.
YARDSTICK_RPS_C64 = 283.0


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    figures: list[str] = []
    for values in results.values():
        figures += [key for key in values if key not in figures]
    rows = [["figure", *names]] + [[key, *(_cell(results[n].get(key)) for n in names)] for key in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def comparisons(direct: dict[str, Any], gateway: dict[str, Any], concurrency: int) -> dict[str, float]:
    """What the gateway adds (ms) and what it keeps (fraction of direct), from one run."""
    c = concurrency

    def ratio(key: str) -> float:
        return gateway[key] / direct[key] if direct.get(key) else float("nan")

    return {
        "added_p50_ms_c1": gateway["p50_ms_c1"] - direct["p50_ms_c1"],
        "added_ttft_ms_c1": gateway["ttft_ms_c1"] - direct["ttft_ms_c1"],
        f"added_ttft_ms_c{c}_slow": gateway[f"ttft_ms_c{c}_slow"] - direct[f"ttft_ms_c{c}_slow"],
        f"rps_c{c}_vs_direct": ratio(f"rps_c{c}"),
        f"streams_per_s_c{c}_vs_direct": ratio(f"streams_per_s_c{c}"),
        f"rps_c{c}_vs_perf_md_yardstick": gateway[f"rps_c{c}"] / YARDSTICK_RPS_C64,
    }


def target_checks(server: str, compared: dict[str, float], figures: dict[str, Any], concurrency: int) -> list[str]:
    """PERF.md's targets, each marked ok / MISSED. The RPS multiple needed is 2× for daphne and
    5× for the fastest server."""
    c = concurrency
    multiple = 2.0 if server == "daphne" else 5.0
    checks = [
        ("added p50 c=1 ≤ 1.0 ms", compared["added_p50_ms_c1"], 1.0, "≤"),
        ("added TTFT c=1 ≤ 1.5 ms", compared["added_ttft_ms_c1"], 1.5, "≤"),
        (f"added TTFT, {c} slow streams ≤ 10 ms", compared[f"added_ttft_ms_c{c}_slow"], 10.0, "≤"),
        (f"RSS under {c} streams ≤ 100 MiB", figures[f"rss_mib_{c}_streams"], 100.0, "≤"),
        (
            f"RPS c={c} ≥ {multiple:.0f}× vandamme-proxy 2.0.9 (PERF.md figure, other machine)",
            compared[f"rps_c{c}_vs_perf_md_yardstick"],
            multiple,
            "≥",
        ),
        ("no errors", figures["errors"], 0.0, "≤"),
    ]
    lines = []
    for label, value, limit, sense in checks:
        met = value <= limit if sense == "≤" else value >= limit
        lines.append(f"  [{'ok' if met else 'MISSED'}] {label}: {value:.2f}")
    return lines


def summary(results: dict[str, dict[str, Any]], concurrency: int) -> tuple[str, dict[str, dict[str, float]]]:
    direct = results["direct"]
    lines = [table({name: figures for name, figures in results.items() if "error" not in figures}), ""]
    compared_all: dict[str, dict[str, float]] = {}
    for server, figures in results.items():
        if server == "direct" or "error" in figures:
            continue
        compared = comparisons(direct, figures, concurrency)
        compared_all[server] = compared
        lines.append(f"{server} against the mock hit directly:")
        lines += [f"  {key}: {value:+.2f}" if key.startswith("added") else f"  {key}: {value:.3f}×" for key, value in compared.items()]
        lines += target_checks(server, compared, figures, concurrency)
    for server, figures in results.items():
        if "error" in figures:
            lines.append(f"{server}: not measured: {figures['error']}")
    return "\n".join(lines), compared_all
