"""The team page's money panel: daily spend over the last 30 days as an inline SVG bar
chart (drawn here, no script), the team's keys' spend this period and its budget states.

Read by ``TeamAdmin.change_view``; the figures come from ``teams.spend`` (one grouped
query for the chart and the keys, one per budget period)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from teams.models import Team
from teams.spend import budget_statuses, spend_days

SPEND_CHART_DAYS = 30
WIDTH, HEIGHT, BOTTOM = 600, 140, 18  # the chart's pixels; BOTTOM holds the date labels


def spend_bars_svg(days: list[dict[str, Any]]) -> SafeString:
    """One bar per day (``day``, ``cost_usd``); a day with unpriced requests only has no
    bar but a grey mark, since its spend is unknown rather than $0."""
    top = max((row["cost_usd"] or Decimal(0) for row in days), default=Decimal(0)) or Decimal(1)
    step = WIDTH / max(len(days), 1)
    plot = HEIGHT - BOTTOM
    bars = []
    for index, row in enumerate(days):
        x = round(index * step + 1, 1)
        title = f"{row['day']:%Y-%m-%d}: {_dollars(row['cost_usd'])}, {row['unpriced_count']} unpriced"
        if row["cost_usd"]:
            height = max(1.0, round(float(row["cost_usd"] / top) * plot, 1))
            shape = format_html(
                '<rect class="spend-bar" x="{}" y="{}" width="{}" height="{}" fill="#417690" '
                'data-day="{}" data-usd="{}"><title>{}</title></rect>',
                x,
                round(plot - height, 1),
                round(step - 2, 1),
                height,
                row["day"],
                row["cost_usd"],
                title,
            )
        elif row["unpriced_count"]:
            shape = format_html(
                '<rect class="spend-unpriced" x="{}" y="{}" width="{}" height="3" fill="#bbb" '
                'data-day="{}"><title>{}</title></rect>',
                x,
                plot - 3,
                round(step - 2, 1),
                row["day"],
                title,
            )
        else:
            continue
        bars.append(shape)
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" fill="#666">{}</text>',
        ((round(i * step, 1), HEIGHT - 4, f"{row['day']:%m-%d}") for i, row in enumerate(days) if i % 7 == 0),
    )
    return format_html(
        '<svg id="team-spend-chart" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="Spend per day, last {} days (max {})">{}<text x="{}" y="10" font-size="10" '
        'text-anchor="end" fill="#666">max {}</text>{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        len(days),
        _dollars(top),
        SafeString("".join(bars)),
        WIDTH - 2,
        _dollars(top),
        labels,
    )


def _dollars(value: Decimal | None) -> str:
    return "unknown" if value is None else f"${value.normalize():f}"


def team_spend_context(*, team: Team, now: datetime | None = None) -> dict[str, Any]:
    """What the team page's money panel shows."""
    now = now or timezone.now()
    days = spend_days(now=now, days=SPEND_CHART_DAYS, team_id=team.pk)
    daily = days.daily(SPEND_CHART_DAYS)
    priced = [row["cost_usd"] for row in daily if row["cost_usd"] is not None]
    return {
        "spend_chart": spend_bars_svg(daily),
        "spend_total_usd": sum(priced, Decimal(0)) if priced else None,
        "spend_unpriced": sum(row["unpriced_count"] for row in daily),
        "spend_since": daily[0]["day"],
        "spend_keys": days.per_key(),
        "spend_budgets": budget_statuses(now=now, team_id=team.pk),
        "spend_days": SPEND_CHART_DAYS,
    }
