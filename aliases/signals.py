"""Cache invalidation only: an alias changed, so bump the configuration generation."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from aliases.models import Alias
from providers.generation import config_generation_bump


@receiver([post_save, post_delete], sender=Alias)
def alias_changed(**kwargs: Any) -> None:
    config_generation_bump()
