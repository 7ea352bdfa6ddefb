"""Audit for the admin: every add, change and delete Django's admin logs is recorded too.

``AuditedAdmin`` hooks ``log_addition``/``log_change``/``log_deletions`` (which the admin
calls for its forms, its delete views and the bulk delete action; a deletion records what
cascades with it too, such as a provider's keys), the inline formsets
of a change page (``save_related``) and the custom actions (``run_audited``).
The state before a change is taken when the change page loads the object.
"""

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import models
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest

from audit.models import AuditAction, AuditSource
from audit.services import (
    audit_record,
    audit_record_cascade,
    cascaded_deletions,
    instance_state,
    masked_json,
)

BEFORE_ATTRIBUTE = "_audit_state_before"
M = TypeVar("M", bound=models.Model)


def _readable(message: str | list[Any]) -> str:
    """The admin's change message (a list, as JSON in LogEntry) as its history page shows it."""
    if not message:
        return ""
    text = json.dumps(message) if isinstance(message, list) else message
    return str(LogEntry(change_message=text).get_change_message())


def _record(
    request: HttpRequest,
    instance: models.Model,
    action: str,
    *,
    before: dict[str, Any] | None,
    message: str | list[Any] = "",
    object_id: object = None,
) -> None:
    after = None if action == AuditAction.DELETE else instance_state(instance)
    audit_record(
        actor=getattr(request, "user", None),
        source=AuditSource.ADMIN,
        action=action,
        instance=instance,
        before=before,
        after=after,
        message=_readable(message),
        object_id=object_id,
    )


def _record_inline_changes(request: HttpRequest, formset: BaseModelFormSet) -> None:
    # The forms' initial data is the rows as loaded: the state before, and the id of a
    # deleted row (Django clears ``pk`` on delete).
    initial_of = {id(form.instance): form.initial for form in formset.initial_forms}
    for obj in getattr(formset, "new_objects", []):
        _record(request, obj, AuditAction.CREATE, before=None, message="added on its parent's page")
    for obj, changed in getattr(formset, "changed_objects", []):
        initial = initial_of.get(id(obj), {})
        before = masked_json({name: initial.get(name) for name in changed if name in initial})
        _record(request, obj, AuditAction.UPDATE, before=before, message=f"changed {', '.join(changed)}")
    for obj in getattr(formset, "deleted_objects", []):
        initial = initial_of.get(id(obj), {})
        object_id = obj.pk if obj.pk is not None else initial.get("id")
        _record(request, obj, AuditAction.DELETE, before=instance_state(obj), object_id=object_id)


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every write also lands in the audit log."""

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, BEFORE_ATTRIBUTE, instance_state(obj))
        return obj

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        _record(request, obj, AuditAction.CREATE, before=None, message=message)
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        _record(
            request, obj, AuditAction.UPDATE, before=getattr(obj, BEFORE_ATTRIBUTE, None), message=message
        )
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Iterable[models.Model]) -> Any:
        """Called before the delete: the objects that go with each one can still be found."""
        objects = list(queryset)
        entries = super().log_deletions(request, objects)  # type: ignore[arg-type]
        actor = getattr(request, "user", None)
        for obj in objects:
            cascaded = cascaded_deletions(obj)
            _record(request, obj, AuditAction.DELETE, before=instance_state(obj), object_id=obj.pk)
            for deletion in cascaded:
                audit_record_cascade(actor=actor, source=AuditSource.ADMIN, deletion=deletion)
        return entries

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Sequence[BaseModelFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            _record_inline_changes(request, formset)

    def run_audited(
        self, request: HttpRequest, objects: list[M], message: str, change: Callable[[list[M]], object]
    ) -> None:
        """Run an action's ``change`` on ``objects`` and log each one (admin history and audit)."""
        for obj in objects:
            setattr(obj, BEFORE_ATTRIBUTE, instance_state(obj))
        change(objects)
        for obj in objects:
            self.log_change(request, obj, message)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the gateway itself (load results, usage, audit): view only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
