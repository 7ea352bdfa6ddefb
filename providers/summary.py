"""The load summary as a plain-text table (start-up, ``manage.py config_summary``)."""

from collections.abc import Iterable

from providers.models import ProviderLoadResult

COLUMNS = ("provider", "status", "format", "base URL", "keys", "message")


def _row(result: ProviderLoadResult) -> tuple[str, ...]:
    keys = ", ".join(result.key_fingerprints) or "-"
    return (
        result.provider_name,
        result.status,
        result.api_format or "-",
        result.base_url or "-",
        keys,
        result.message,
    )


def render_summary_table(results: Iterable[ProviderLoadResult], *, include_inactive: bool = True) -> str:
    """Active providers first, then inactive ones (or only a count of them, without
    ``include_inactive``); secrets never appear (fingerprints only)."""
    ordered = sorted(results, key=lambda r: (r.status == "inactive", r.provider_name))
    shown = [r for r in ordered if include_inactive or r.status != "inactive"]
    hidden = len(ordered) - len(shown)
    note = f"({hidden} inactive providers not shown: `manage.py config_summary --all` lists them)\n"
    rows = [_row(r) for r in shown]
    if not rows:
        empty = "No providers configured: set e.g. OPENAI_API_KEY or write vandamme-config.toml.\n"
        return empty + (note if hidden else "")
    widths = [max(len(COLUMNS[i]), *(len(row[i]) for row in rows)) for i in range(len(COLUMNS))]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())  # the last column is not padded
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n" + (note if hidden else "")
