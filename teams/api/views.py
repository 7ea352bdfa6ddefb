"""REST endpoints for teams, their aliases and gateway keys, and usage (records, aggregates)."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from audit.viewsets import AuditedModelViewSet
from teams.api.aggregate import (
    CSVRenderer,
    SpendAggregateQuerySerializer,
    SpendAggregateRowSerializer,
    wire_rows,
)
from teams.api.serializers import (
    UNKNOWN_TEAM,
    GatewayKeyCreatedSerializer,
    GatewayKeySerializer,
    TeamAliasSerializer,
    TeamSerializer,
    UsageQuerySerializer,
    UsageRecordSerializer,
)
from teams.models import GatewayKey, Team, TeamAlias, UsageRecord
from teams.selectors import (
    AGGREGATE_FIGURES,
    UsageFilter,
    group_columns,
    team_by_id_or_name,
    usage_aggregate,
    usage_records,
)
from teams.services import (
    gateway_key_create,
    gateway_key_delete,
    gateway_key_update,
    team_alias_create,
    team_alias_delete,
    team_alias_update,
    team_create,
    team_delete,
    team_update,
)
from vandamme.api_errors import JsonErrorsMixin


def _by_team(queryset: QuerySet[Any], request: Request) -> QuerySet[Any]:
    """``?team=`` (an id or a name) filters; a team that does not exist is a 400, not an
    empty list that reads as "this team has none"."""
    value = request.query_params.get("team")
    if not value:
        return queryset
    team = team_by_id_or_name(value)
    if team is None:
        raise serializers.ValidationError({"team": [UNKNOWN_TEAM.format(value=value)]})
    return queryset.filter(team=team)


class TeamViewSet(AuditedModelViewSet[Team]):
    """Teams with their allow lists and limits."""

    serializer_class = TeamSerializer
    queryset = Team.objects.all()

    def create_object(self, data: dict[str, Any]) -> Team:
        return team_create(**data)

    def update_object(self, obj: Team, data: dict[str, Any]) -> Team:
        return team_update(team=obj, **data)

    def delete_object(self, obj: Team) -> None:
        team_delete(team=obj)


class TeamAliasViewSet(AuditedModelViewSet[TeamAlias]):
    """Aliases only one team sees (``?team=`` id or name filters)."""

    serializer_class = TeamAliasSerializer

    def get_queryset(self) -> QuerySet[TeamAlias]:
        return _by_team(TeamAlias.objects.select_related("team"), self.request)

    def create_object(self, data: dict[str, Any]) -> TeamAlias:
        return team_alias_create(**data)

    def update_object(self, obj: TeamAlias, data: dict[str, Any]) -> TeamAlias:
        return team_alias_update(alias=obj, **data)

    def delete_object(self, obj: TeamAlias) -> None:
        team_alias_delete(alias=obj)


class GatewayKeyViewSet(AuditedModelViewSet[GatewayKey]):
    """Client keys of teams (``?team=`` id or name filters). The key itself: in the creation
    response only."""

    serializer_class = GatewayKeySerializer

    def get_queryset(self) -> QuerySet[GatewayKey]:
        return _by_team(GatewayKey.objects.select_related("team"), self.request)

    def create_object(self, data: dict[str, Any]) -> GatewayKey:
        key, self._plaintext = gateway_key_create(**data)
        return key

    def update_object(self, obj: GatewayKey, data: dict[str, Any]) -> GatewayKey:
        data.pop("team", None)
        return gateway_key_update(key=obj, **data)

    def delete_object(self, obj: GatewayKey) -> None:
        gateway_key_delete(key=obj)

    @extend_schema(responses={201: GatewayKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        body = {**serializer.data, "key": self._plaintext}
        return Response(body, status=status.HTTP_201_CREATED)


def _usage_filter(params: dict[str, Any]) -> UsageFilter:
    return UsageFilter(
        team=params.get("team"),
        provider=params.get("provider"),
        model=params.get("model"),
        status=params.get("status"),
        errors_only=bool(params.get("errors_only")),
        since=params.get("since"),
        until=params.get("until"),
    )


class UsageViewSet(JsonErrorsMixin, viewsets.ReadOnlyModelViewSet[UsageRecord]):
    """Usage records, newest first, and their aggregates. Filters are query parameters."""

    serializer_class = UsageRecordSerializer

    def _query(self, serializer_class: type[UsageQuerySerializer]) -> dict[str, Any]:
        query = serializer_class(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)

    def get_queryset(self) -> QuerySet[UsageRecord]:
        if self.action != "list":
            return UsageRecord.objects.all()
        return usage_records(filters=_usage_filter(self._query(UsageQuerySerializer)))

    @extend_schema(parameters=[UsageQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=: a bad parameter, not a missing page
            formats = ", ".join(renderer.format for renderer in self.get_renderers())
            raise serializers.ValidationError({"format": [f"Not one of: {formats}."]}) from None

    @extend_schema(
        parameters=[
            SpendAggregateQuerySerializer,
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: the same rows as CSV."),
        ],
        responses=SpendAggregateRowSerializer(many=True),
    )
    @action(detail=False, pagination_class=None, renderer_classes=[JSONRenderer, CSVRenderer])
    def aggregate(self, request: Request) -> Response:
        """Requests, tokens, errors, p50 latency and spend grouped by day, week, month, provider,
        model, team or gateway key, optionally split by ``period``; ``?format=csv`` for CSV."""
        params = self._query(SpendAggregateQuerySerializer)
        group_by, period = params["group_by"], params.get("period")
        records = usage_records(filters=_usage_filter(params))
        rows = usage_aggregate(records=records, group_by=group_by, period=period)
        self.csv_columns = [*group_columns(group_by=group_by, period=period), *AGGREGATE_FIGURES]
        response = Response(wire_rows(rows))
        if request.accepted_renderer.format == "csv":
            name = "-".join(filter(None, ("usage", group_by, period)))
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
