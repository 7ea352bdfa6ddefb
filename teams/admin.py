"""Admin for teams: gateway keys are created here and shown once; aliases per team."""

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from teams.models import GatewayKey, Team, TeamAlias
from teams.services import gateway_key_create


class GatewayKeyInline(admin.TabularInline):
    model = GatewayKey
    extra = 0
    fields = ("masked", "label", "enabled", "expires_at", "last_used_at", "created_at")
    readonly_fields = ("masked", "last_used_at", "created_at")

    @admin.display(description="key")
    def masked(self, obj: GatewayKey) -> str:
        return obj.masked if obj.pk else "(generated when saved, shown once)"


class TeamAliasInline(admin.TabularInline):
    model = TeamAlias
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "key_count", "allowed_providers", "allowed_models")
    list_filter = ("enabled",)
    search_fields = ("name",)
    inlines = (GatewayKeyInline, TeamAliasInline)
    actions = ("create_key",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(key_total=Count("keys"))

    @admin.display(description="keys", ordering="key_total")
    def key_count(self, obj: Team) -> int:
        return int(getattr(obj, "key_total", 0))

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
                key, plaintext = gateway_key_create(
                    team=form.instance,
                    label=key_form.cleaned_data.get("label", ""),
                    expires_at=key_form.cleaned_data.get("expires_at"),
                )
                formset.new_objects.append(key)
                self._announce(request, key, plaintext)

    @admin.action(description="Create a new gateway key for each selected team")
    def create_key(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        for team in queryset:
            key, plaintext = gateway_key_create(team=team, label="created from the team list")
            self._announce(request, key, plaintext)


@admin.register(GatewayKey)
class GatewayKeyAdmin(admin.ModelAdmin):
    list_display = ("team", "masked", "label", "enabled", "expires_at", "last_used_at", "created_at")
    list_filter = ("team", "enabled")
    list_select_related = ("team",)
    search_fields = ("prefix", "label", "team__name")
    fields = ("team", "masked", "label", "enabled", "expires_at", "last_used_at", "created_at")
    readonly_fields = ("team", "masked", "last_used_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created on their team's page, where the plaintext is shown once

    @admin.display(description="key")
    def masked(self, obj: GatewayKey) -> str:
        return obj.masked

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return "key_hash" not in lookup and super().lookup_allowed(lookup, value, request)
