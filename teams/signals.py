"""Cache invalidation only: team configuration changed, so bump the generation."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from providers.generation import config_generation_bump
from teams.models import GatewayKey, Team, TeamAlias


@receiver([post_save, post_delete], sender=Team)
@receiver([post_save, post_delete], sender=GatewayKey)
@receiver([post_save, post_delete], sender=TeamAlias)
def team_config_changed(**kwargs: Any) -> None:
    config_generation_bump()
