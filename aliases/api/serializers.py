"""Shapes of aliases in the REST API."""

from rest_framework import serializers

from aliases.models import Alias
from providers.models import Provider


class AliasSerializer(serializers.ModelSerializer[Alias]):
    provider = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Provider.objects.all(),
        allow_null=True,
        required=False,
        help_text="Scope: the alias applies only to this provider; null means global.",
    )
    fallbacks = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = Alias
        fields = (
            "id",
            "name",
            "target",
            "provider",
            "is_pattern",
            "fallbacks",
            "source",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "source", "created_at", "updated_at")
        # Uniqueness (per scope, global) is checked by the model's constraints in the service.
        validators: list[object] = []
