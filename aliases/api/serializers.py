"""Shapes of aliases in the REST API."""

from typing import Any

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
    target = serializers.CharField(
        max_length=300, required=False, help_text="One target; a group may leave it out (its first target)."
    )
    targets = serializers.JSONField(
        required=False,
        help_text='A model group: [{"target": "provider:model", "weight": 1, "tier": 1, "rpm": null, '
        '"tpm": null}, …]; checked when saved (positive weights, known targets, no cycle).',
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not self.partial and not attrs.get("target") and not attrs.get("targets"):
            raise serializers.ValidationError({"target": "a target, or a group's targets, is required"})
        return attrs

    class Meta:
        model = Alias
        fields = (
            "id",
            "name",
            "target",
            "provider",
            "is_pattern",
            "fallbacks",
            "targets",
            "strategy",
            "source",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "source", "created_at", "updated_at")
        # Uniqueness (per scope, global) is checked by the model's constraints in the service.
        validators: list[object] = []
