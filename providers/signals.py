"""Cache invalidation only: configuration rows changed, so bump the generation."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from providers.generation import config_generation_bump
from providers.models import ApiKey, Provider


@receiver([post_save, post_delete], sender=Provider)
@receiver([post_save, post_delete], sender=ApiKey)
def provider_config_changed(**kwargs: Any) -> None:
    config_generation_bump()
