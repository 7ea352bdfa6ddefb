"""Operators' prices for models, which win over genai-prices' data."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from providers.models import Source

CURRENCY = "USD"  # every cost is kept in US dollars; a price in another currency is refused


def validate_currency(value: str) -> None:
    if value != CURRENCY:
        raise ValidationError(
            f"Only USD prices are supported (got {value!r}): convert the price to US dollars.",
            code="currency",
        )


def _price_field(help_text: str, optional: bool = False) -> models.DecimalField:
    return models.DecimalField(
        max_digits=14,
        decimal_places=6,
        validators=[MinValueValidator(Decimal(0), message="A price cannot be negative.")],
        null=optional,
        blank=optional,
        help_text=help_text,
    )


class PriceOverride(models.Model):
    """The price of ``model`` (as sent upstream) on ``provider``, or on any provider when
    ``provider`` is blank; US dollars per million tokens. A provider's own row wins over
    an any-provider row, and both win over genai-prices."""

    provider = models.CharField(
        max_length=63, blank=True, help_text="Provider name; empty: this model on any provider."
    )
    model = models.CharField(max_length=300, help_text="The model name as sent to the provider.")
    input = _price_field("USD per million input tokens (neither read from nor written to the cache).")
    output = _price_field("USD per million output tokens (reasoning included).")
    cache_read = _price_field("USD per million tokens read from the cache; empty: the input price.", True)
    cache_write = _price_field("USD per million tokens written to the cache; empty: the input price.", True)
    currency = models.CharField(
        max_length=8, default=CURRENCY, validators=[validate_currency], help_text="Only USD."
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "provider"]
        constraints = [
            models.UniqueConstraint(
                Lower("model"),
                "provider",
                name="unique_price_per_provider_model",
                violation_error_message="This provider already has a price for this model.",
            ),
            models.CheckConstraint(
                condition=models.Q(input__gte=0)
                & models.Q(output__gte=0)
                & (models.Q(cache_read__isnull=True) | models.Q(cache_read__gte=0))
                & (models.Q(cache_write__isnull=True) | models.Q(cache_write__gte=0)),
                name="price_not_negative",
            ),
            models.CheckConstraint(condition=models.Q(currency=CURRENCY), name="price_in_usd"),
            models.CheckConstraint(condition=~models.Q(model=""), name="price_model_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.provider or 'any provider'}: {self.model}"
