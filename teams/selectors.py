"""Reads of teams and their usage."""

from datetime import datetime

from django.db.models import F, Sum

from teams.models import UsageRecord


def team_tokens_spent(*, team_id: int, start: datetime, until: datetime) -> int:
    """Input + output tokens the team's recorded requests used in ``[start, until)``."""
    total = UsageRecord.objects.filter(
        team_id=team_id, created_at__gte=start, created_at__lt=until
    ).aggregate(total=Sum(F("input_tokens") + F("output_tokens")))["total"]
    return int(total or 0)
