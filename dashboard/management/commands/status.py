"""``manage.py status``: the gateway at a glance, for terminal users.

Providers with their key pools and last load, aliases, usage over the last hour (or
day) per provider and per team, spend today, this week and this month per team (and the
unpriced requests), and the latest requests. Reads the database only, so
it works whether or not a gateway is running.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from dashboard import selectors
from dashboard.text_tables import render_table
from teams import spend
from teams.money_text import format_usd


def _dash(value: object) -> object:
    return "-" if value in (None, "") else value


class Command(BaseCommand):
    help = "Show providers and key health, aliases, recent usage and the latest requests."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--window", choices=["hour", "day"], default="hour", help="Usage window.")
        parser.add_argument("--recent", type=int, default=10, help="How many latest requests to list.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sections = [
                ("Providers", self._providers()),
                ("Aliases", self._aliases()),
                *self._usage(options["window"]),
                ("Spend (USD; calendar periods in UTC, weeks from Monday)", self._spend()),
                ("Latest requests", self._recent(options["recent"])),
            ]
        except DatabaseError as exc:
            raise CommandError(
                f"cannot read the database ({type(exc).__name__}): run manage.py migrate "
                "(./scripts/start does) or check DATABASE_URL"
            ) from exc
        for title, table in sections:
            self.stdout.write(self.style.MIGRATE_HEADING(title))
            self.stdout.write(table + "\n")  # a blank line after each table

    @staticmethod
    def _providers() -> str:
        loads = {result.provider_name: result for result in selectors.load_summary()}
        rows = []
        for pool in selectors.key_health():
            counts = pool["counts"]
            keys = (
                "passthrough"
                if pool["passthrough"]
                else "/".join(str(counts[s]) for s in selectors.KEY_STATES)
            )
            load = loads.pop(pool["provider"], None)
            rows.append(
                [pool["provider"], "yes" if pool["enabled"] else "no", keys, load.status if load else "-"]
            )
        rows += [[name, "-", "-", f"{load.status}: {load.message}"] for name, load in sorted(loads.items())]
        headers = ["provider", "enabled", "keys healthy/cooling/failing/disabled", "last load"]
        return render_table(headers, rows, empty="No providers configured.")

    @staticmethod
    def _aliases() -> str:
        rows = [
            [alias.name, alias.target, alias.provider.name if alias.provider else "(global)"]
            for alias in selectors.aliases()
        ]
        return render_table(["alias", "target", "scope"], rows)

    @staticmethod
    def _usage(window: str) -> list[tuple[str, str]]:
        overview = selectors.usage_overview()[window]
        headers = ["requests", "errors", "error %", "p50 ms", "p95 ms", "in", "out", "cached"]
        sections = []
        for grouping in ("provider", "team"):
            rows = [
                [
                    name,
                    t["requests"],
                    t["errors"],
                    t["error_pct"],
                    _dash(t["p50_ms"]),
                    _dash(t["p95_ms"]),
                    t["input_tokens"],
                    t["output_tokens"],
                    t["cached_tokens"],
                ]
                for name, t in overview[grouping]["totals"].items()
            ]
            table = render_table([grouping, *headers], rows, empty="No requests.")
            sections.append((f"Usage over the last {window}, per {grouping}", table))
        return sections

    @staticmethod
    def _spend() -> str:
        days = spend.spend_days()
        periods = ("day_usd", "week_usd", "month_usd")
        named = [(row["team"], row) for row in days.per_team()]
        if (total := days.total()) is not None:
            named.append(("(all)", total))
        rows = [
            [name, *(format_usd(row[p]) for p in periods), row["month_requests"], row["month_unpriced"]]
            for name, row in named
        ]
        headers = ["team", "today", "this week", "this month", "requests (month)", "unpriced (month)"]
        return render_table(headers, rows, empty="No requests this week or month.")

    @staticmethod
    def _recent(limit: int) -> str:
        rows = [
            [
                f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                _dash(r.team_name),
                f"{_dash(r.provider)}:{r.model_served or r.model_requested}",
                r.status,
                r.latency_ms,
                f"{r.input_tokens}/{r.output_tokens}",
                "stream" if r.streamed else "",
            ]
            for r in selectors.recent_usage(limit)
        ]
        headers = ["time", "team", "provider:model", "status", "ms", "tokens in/out", ""]
        return render_table(headers, rows, empty="No requests recorded.")
