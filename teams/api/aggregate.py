"""The usage aggregate's query, row shape and CSV: ``/api/usage/aggregate/``.

Kept apart from ``serializers.py`` (the teams' and keys' shapes): the aggregate adds a
``period`` split, money columns and a CSV rendering on top of the usage filters.
"""

import csv
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from teams.api.serializers import UsageAggregateQuerySerializer
from teams.selectors import TIME_GROUPS

# Spreadsheets run a cell starting with one of these as a formula (CSV injection): model
# and team names come from clients and operators, so such text is quoted with a '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SpendAggregateQuerySerializer(UsageAggregateQuerySerializer):
    period = serializers.ChoiceField(
        choices=sorted(TIME_GROUPS),
        required=False,
        help_text="Split each group by calendar day, week (from Monday) or month, in UTC. "
        "Only with a group_by that is not itself a period.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("period") and attrs["group_by"] in TIME_GROUPS:
            raise serializers.ValidationError(
                {"period": [f"group_by={attrs['group_by']} is already a period; leave period out."]}
            )
        return attrs


class SpendAggregateRowSerializer(serializers.Serializer[None]):
    """One group: the ``period`` column (when asked) and the ``group_by`` column(s)
    (``key`` gives ``key_id``, ``key_prefix`` and ``team``), then the figures."""

    day = serializers.DateField(required=False)
    week = serializers.DateField(required=False, help_text="The week's Monday.")
    month = serializers.DateField(required=False, help_text="The month's first day.")
    provider = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    team = serializers.CharField(required=False)
    key_id = serializers.IntegerField(required=False, allow_null=True)
    key_prefix = serializers.CharField(required=False)
    requests = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    error_count = serializers.IntegerField(help_text="Requests answered with status >= 400.")
    p50_latency_ms = serializers.FloatField(allow_null=True)
    cost_usd = serializers.DecimalField(
        max_digits=30,
        decimal_places=10,
        allow_null=True,
        help_text="US dollars, a decimal string: the sum over priced records; null when none was priced.",
    )
    unpriced_count = serializers.IntegerField(help_text="Records whose model had no known price.")


def wire_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decimals as strings: JSON numbers would round money through a float."""
    return [
        {name: str(value) if isinstance(value, Decimal) else value for name, value in row.items()}
        for row in rows
    ]


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return f"'{text}" if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text


class CSVRenderer(BaseRenderer):
    """A list of rows as CSV with a header row. The columns are the view's ``csv_columns``
    (so an empty aggregate still has its header), else the first row's keys."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        view = (renderer_context or {}).get("view")
        columns = list(getattr(view, "csv_columns", None) or (rows[0] if rows else []))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows([_cell(row.get(column)) for column in columns] for row in rows)
        return out.getvalue().encode(self.charset)
