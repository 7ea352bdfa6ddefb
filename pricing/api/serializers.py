"""Shapes of price overrides in the REST API."""

from decimal import Decimal

from rest_framework import serializers

from pricing.models import CURRENCY, PriceOverride


def _price(help_text: str, *, optional: bool = False) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=6,
        min_value=Decimal(0),
        required=not optional,
        allow_null=optional,
        coerce_to_string=True,  # exact: a float would turn 0.15 into 0.1499999…
        help_text=help_text,
        error_messages={"min_value": "A price cannot be negative."},
    )


class PriceOverrideSerializer(serializers.ModelSerializer[PriceOverride]):
    provider = serializers.CharField(
        max_length=63, allow_blank=True, required=False, help_text="Provider name; empty: any provider."
    )
    input = _price("USD per million input tokens (not read from nor written to the cache).")
    output = _price("USD per million output tokens (reasoning included).")
    cache_read = _price("USD per million cache-read tokens; null: the input price.", optional=True)
    cache_write = _price("USD per million cache-write tokens; null: the input price.", optional=True)
    currency = serializers.ChoiceField(
        choices=[CURRENCY],
        default=CURRENCY,
        error_messages={"invalid_choice": "Only USD prices are supported (got {input!r})."},
    )

    class Meta:
        model = PriceOverride
        fields = (
            "id",
            "provider",
            "model",
            "input",
            "output",
            "cache_read",
            "cache_write",
            "currency",
            "source",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "source", "created_at", "updated_at")
        # Uniqueness (per provider and model) is checked by the model's constraint in the service.
        validators: list[object] = []
