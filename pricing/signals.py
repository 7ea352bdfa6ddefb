"""Cache invalidation only: a price override changed, so bump the configuration generation
(every process's snapshot, which carries the price table, is rebuilt)."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pricing.models import PriceOverride
from providers.generation import config_generation_bump


@receiver([post_save, post_delete], sender=PriceOverride)
def price_override_changed(**kwargs: Any) -> None:
    config_generation_bump()
