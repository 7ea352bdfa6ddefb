"""Shapes of teams, team aliases, gateway keys and usage in the REST API.

A gateway key's plaintext appears once, in the response that created it
(``GatewayKeyCreatedSerializer``); afterwards only its prefix and last 4 characters."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from teams.models import GatewayKey, Team, TeamAlias, UsageRecord
from teams.selectors import USAGE_GROUPS, team_by_id_or_name, usage_team_known

UNKNOWN_TEAM = 'No team with the id or name "{value}".'


def spend_budget_field(help_text: str) -> serializers.DecimalField:
    """US dollars, at most 4 decimals, not negative; null is no money budget. A string
    ("12.50") or a number; anything else is a 400 naming the field."""
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=4,
        min_value=Decimal(0),
        allow_null=True,
        required=False,
        coerce_to_string=True,
        help_text=help_text,
        error_messages={
            "invalid": "A number of US dollars is required, such as 12.50.",
            "min_value": "A spend budget cannot be negative.",
            "max_decimal_places": "At most 4 decimal places (a hundredth of a cent).",
        },
    )


class TeamField(serializers.PrimaryKeyRelatedField):
    """A team by id (a JSON number) or by name (a string; an all-digit string that names
    no team is taken as an id). Answers with the id, as before."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The team's id or name.")
        super().__init__(queryset=Team.objects.all(), **kwargs)

    def to_internal_value(self, data: Any) -> Team:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        team = team_by_id_or_name(data)
        if team is None:
            raise serializers.ValidationError(UNKNOWN_TEAM.format(value=data), code="does_not_exist")
        return team


class TeamSerializer(serializers.ModelSerializer[Team]):
    allowed_providers = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_models = serializers.ListField(child=serializers.CharField(), required=False)
    spend_budget_usd = spend_budget_field("US dollars per spend_budget_period; null: no money budget.")
    spend_alert_percent = serializers.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        help_text="A spend budget's soft threshold (percent): one log line and a metric per period.",
    )

    class Meta:
        model = Team
        fields = (
            "id",
            "name",
            "enabled",
            "allowed_providers",
            "allowed_models",
            "requests_per_minute",
            "tokens_per_minute",
            "token_budget",
            "budget_period",
            "spend_budget_usd",
            "spend_budget_period",
            "spend_alert_percent",
            "hosted_tools",
            "middleware",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")


class TeamAliasSerializer(serializers.ModelSerializer[TeamAlias]):
    team = TeamField()

    class Meta:
        model = TeamAlias
        fields = ("id", "team", "name", "target")
        validators: list[object] = []  # (team, name) uniqueness: the model's constraint, in the service


class GatewayKeySerializer(serializers.ModelSerializer[GatewayKey]):
    team = TeamField()
    spend_budget_usd = spend_budget_field(
        "US dollars per period for this key, besides the team's; null: none.",
    )

    class Meta:
        model = GatewayKey
        fields: tuple[str, ...] = (
            "id",
            "team",
            "label",
            "enabled",
            "expires_at",
            "requests_per_minute",
            "tokens_per_minute",
            "spend_budget_usd",
            "spend_budget_period",
            "prefix",
            "last4",
            "last_used_at",
            "created_at",
        )
        read_only_fields = ("id", "prefix", "last4", "last_used_at", "created_at")

    def validate_team(self, team: Team) -> Team:
        if self.instance is not None and team != self.instance.team:
            raise serializers.ValidationError("A key cannot move to another team.")
        return team


class GatewayKeyCreatedSerializer(GatewayKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The key itself (vdm-…): shown in this response only, stored as a hash."
    )

    class Meta(GatewayKeySerializer.Meta):
        fields = (*GatewayKeySerializer.Meta.fields, "key")


class UsageRecordSerializer(serializers.ModelSerializer[UsageRecord]):
    class Meta:
        model = UsageRecord
        fields = (
            "id",
            "created_at",
            "team",
            "team_name",
            "key_prefix",
            "provider",
            "model_requested",
            "model_served",
            "input_tokens",
            "output_tokens",
            "cached_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "cost_usd",  # a decimal string (exact); null when unpriced
            "unpriced",
            "price_version",
            "status",
            "latency_ms",
            "streamed",
        )
        read_only_fields = fields


class UsageQuerySerializer(serializers.Serializer[None]):
    """Filters of the usage endpoints (query parameters)."""

    team = serializers.CharField(required=False, help_text="Team id or name.")
    provider = serializers.CharField(required=False)
    model = serializers.CharField(required=False, help_text="Model as requested or as served.")
    status = serializers.IntegerField(required=False, min_value=100, max_value=599)
    errors_only = serializers.BooleanField(required=False, default=False, help_text="Only status >= 400.")
    since = serializers.DateTimeField(required=False, help_text="ISO 8601, inclusive.")
    until = serializers.DateTimeField(required=False, help_text="ISO 8601, exclusive.")

    def validate_team(self, value: str) -> str:
        if not usage_team_known(value):
            raise serializers.ValidationError(UNKNOWN_TEAM.format(value=value))
        return value


class UsageAggregateQuerySerializer(UsageQuerySerializer):
    group_by = serializers.ChoiceField(choices=sorted(USAGE_GROUPS), default="day")
