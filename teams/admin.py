"""Admin for teams: gateway keys are created here and shown once; aliases, limits and
usage per team; the usage records themselves and the ones the database refused, read-only."""

import json
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audit.admin_hooks import AuditedAdmin, ReadOnlyAdmin
from providers.admin_lists import LinesFieldsAdmin
from teams.admin_spend import team_spend_context
from teams.gateway_mode import mode_now, team_created_warning
from teams.models import BudgetPeriod, GatewayKey, Team, TeamAlias, UsageDeadLetter, UsageRecord
from teams.selectors import UsageFilter, usage_aggregate, usage_records
from teams.services import gateway_key_create

USAGE_SUMMARY_DAYS = 30
KEY_COLUMNS = (
    "masked",
    "label",
    "enabled",
    "expires_at",
    "requests_per_minute",
    "tokens_per_minute",
    "spend_budget_usd",
    "spend_budget_period",
    "last_used_at",
    "created_at",
)
SUMMARY_COLUMNS = ("requests", "input_tokens", "output_tokens", "error_count", "p50_latency_ms")


def usage_table(rows: list[dict[str, Any]], group_by: str) -> SafeString:
    """An aggregate as a small HTML table (values escaped)."""
    if not rows:
        return format_html("<p>{}</p>", "no requests")
    head = format_html_join(
        "", "<th>{}</th>", ((name.replace("_", " "),) for name in (group_by, *SUMMARY_COLUMNS))
    )
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((row[c],) for c in (group_by, *SUMMARY_COLUMNS))),)
            for row in rows
        ),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class GatewayKeyInline(admin.TabularInline):
    model = GatewayKey
    extra = 0
    # Without created_at (on the key's own page): the table fits a 1366 px screen.
    fields = tuple(column for column in KEY_COLUMNS if column != "created_at")
    readonly_fields = ("masked", "last_used_at")

    @admin.display(description="key")
    def masked(self, obj: GatewayKey) -> str:
        return obj.masked if obj.pk else "(generated when saved, shown once)"


class TeamAliasInline(admin.TabularInline):
    model = TeamAlias
    extra = 0


@admin.register(Team)
class TeamAdmin(LinesFieldsAdmin, AuditedAdmin):
    lines_fields = ("allowed_providers", "allowed_models")
    list_display = (
        "name",
        "enabled",
        "key_count",
        "requests_per_minute",
        "tokens_per_minute",
        "token_budget",
        "budget_period",
        "spend_budget_usd",
        "spend_budget_period",
        "allowed_providers",
        "allowed_models",
    )
    list_filter = ("enabled", "budget_period")
    search_fields = ("name",)
    inlines = (GatewayKeyInline, TeamAliasInline)
    actions = ("create_key",)
    fieldsets = (
        (None, {"fields": ("name", "enabled")}),
        ("Access", {"fields": ("allowed_providers", "allowed_models", "hosted_tools")}),
        ("Middleware (after the provider's; routing.middleware)", {"fields": ("middleware",)}),
        ("Limits", {"fields": ("requests_per_minute", "tokens_per_minute", "token_budget", "budget_period")}),
        (
            "Spend budget (US dollars; only priced calls are charged)",
            {"fields": ("spend_budget_usd", "spend_budget_period", "spend_alert_percent")},
        ),
        (
            f"Usage, last {USAGE_SUMMARY_DAYS} days",
            {"fields": ("usage_by_day", "usage_by_provider", "usage_by_model")},
        ),
    )
    readonly_fields = ("usage_by_day", "usage_by_provider", "usage_by_model")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(key_total=Count("keys"))

    # The spend panel (chart, keys, budgets) is drawn below the inlines by this template.
    change_form_template = "admin/teams/team/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        team = self.get_object(request, object_id)
        money = team_spend_context(team=team) if team is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **money})

    def save_model(self, request: HttpRequest, obj: Team, form: ModelForm, change: bool) -> None:
        before = None if change else mode_now()
        super().save_model(request, obj, form, change)
        warning = team_created_warning(obj.name, before, mode_now()) if before else None
        if warning:  # the first team closes an open gateway (VDM_GATEWAY_MODE=auto): say so
            self.message_user(request, warning, messages.WARNING)

    @admin.display(description="keys", ordering="key_total")
    def key_count(self, obj: Team) -> int:
        return int(getattr(obj, "key_total", 0))

    def _usage(self, team: Team, group_by: str) -> SafeString:
        if team.pk is None:
            return format_html("<p>{}</p>", "no requests")
        since = timezone.now() - timedelta(days=USAGE_SUMMARY_DAYS)
        records = usage_records(filters=UsageFilter(team=str(team.pk), since=since))
        return usage_table(usage_aggregate(records=records, group_by=group_by), group_by)

    @admin.display(description="by day")
    def usage_by_day(self, obj: Team) -> SafeString:
        return self._usage(obj, "day")

    @admin.display(description="by provider")
    def usage_by_provider(self, obj: Team) -> SafeString:
        return self._usage(obj, "provider")

    @admin.display(description="by model")
    def usage_by_model(self, obj: Team) -> SafeString:
        return self._usage(obj, "model")

    def _announce(self, request: HttpRequest, key: GatewayKey, plaintext: str) -> None:
        self.message_user(
            request,
            f"New gateway key for {key.team.name}: {plaintext}  (copy it now: it is stored only as a hash "
            "and will not be shown again)",
            messages.WARNING,
        )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        if formset.model is not GatewayKey:
            super().save_formset(request, form, formset, change)
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for key_form in formset.forms:
            if not key_form.has_changed() or not hasattr(key_form, "cleaned_data"):
                continue
            instance: GatewayKey = key_form.instance
            if key_form.cleaned_data.get("DELETE") and instance.pk:
                instance.delete()
                formset.deleted_objects.append(instance)
            elif instance.pk:
                instance.save()
                formset.changed_objects.append((instance, key_form.changed_data))
            else:
                data = key_form.cleaned_data
                key, plaintext = gateway_key_create(
                    team=form.instance,
                    label=data.get("label", ""),
                    expires_at=data.get("expires_at"),
                    requests_per_minute=data.get("requests_per_minute"),
                    tokens_per_minute=data.get("tokens_per_minute"),
                    spend_budget_usd=data.get("spend_budget_usd"),
                    spend_budget_period=data.get("spend_budget_period") or BudgetPeriod.MONTH,
                )
                formset.new_objects.append(key)
                self._announce(request, key, plaintext)

    @admin.action(description="Create a new gateway key for each selected team")
    def create_key(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        for team in queryset:
            key, plaintext = gateway_key_create(team=team, label="created from the team list")
            self.log_addition(request, key, "created from the team list")
            self._announce(request, key, plaintext)


@admin.register(GatewayKey)
class GatewayKeyAdmin(AuditedAdmin):
    list_display = ("team", *KEY_COLUMNS)
    list_filter = ("team", "enabled")
    list_select_related = ("team",)
    search_fields = ("prefix", "label", "team__name")
    fields = list_display
    readonly_fields = ("team", "masked", "last_used_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created on their team's page, where the plaintext is shown once

    @admin.display(description="key")
    def masked(self, obj: GatewayKey) -> str:
        return obj.masked

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return "key_hash" not in lookup and super().lookup_allowed(lookup, value, request)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """Every proxied request, read-only. Paginated without a query per row: the team is
    joined (``list_select_related``) and the full count is skipped on large tables."""

    list_display = (
        "created_at",
        "team",
        "key_prefix",
        "provider",
        "model_requested",
        "model_served",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "status",
        "latency_ms",
        "streamed",
    )
    list_filter = ("provider", "status", "streamed", "unpriced", "team")
    list_select_related = ("team",)
    search_fields = ("team_name", "key_prefix", "model_requested", "model_served")
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False


@admin.register(UsageDeadLetter)
class UsageDeadLetterAdmin(ReadOnlyAdmin):
    """Usage events the database refused for their values (kept apart so they never block
    the others), with the error; read-only."""

    list_display = ("created_at", "error_class", "error")
    list_filter = ("error_class",)
    search_fields = ("error", "event")
    date_hierarchy = "created_at"
    fields = ("created_at", "error_class", "error", "usage_event")
    readonly_fields = fields

    @admin.display(description="usage event")
    def usage_event(self, obj: UsageDeadLetter) -> SafeString:
        try:
            document = json.dumps(json.loads(obj.event), indent=2, ensure_ascii=True)
        except ValueError:
            document = obj.event
        return format_html("<pre>{}</pre>", document)
