"""Writing the audit log. The REST API and the admin call these after each change."""

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, router
from django.db.models.deletion import Collector

from audit.masking import mask_secrets
from audit.models import AuditAction, AuditEntry

# Bookkeeping fields that change on every save and say nothing about the change.
UNRECORDED_FIELDS = frozenset({"created_at", "updated_at"})


def masked_json(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as JSON-safe values (dates as ISO text…), secrets masked."""
    masked: dict[str, Any] = mask_secrets(json.loads(json.dumps(data, cls=DjangoJSONEncoder)))
    return masked


def instance_state(instance: models.Model) -> dict[str, Any]:
    """The object's concrete fields, JSON-safe, secrets masked."""
    return masked_json(
        {
            field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields
            if field.name not in UNRECORDED_FIELDS
        }
    )


def object_type(instance: models.Model) -> str:
    return instance._meta.label_lower


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    source: str,
    action: str,
    instance: models.Model,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    message: str = "",
    object_id: object = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """Record one change. ``object_id`` is needed for deletions (the instance has lost its pk),
    ``object_repr`` where the text of a deleted object can no longer be read."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_name=user.get_username() if user is not None else "",
        source=source,
        action=action,
        object_type=object_type(instance),
        object_id=str(object_id if object_id is not None else instance.pk),
        object_repr=(str(instance) if object_repr is None else object_repr)[:200],
        message=message,
        before=before,
        after=after,
    )


@dataclass(frozen=True)
class Deletion:
    """An object that a delete takes with it, as the audit records it. Taken before the
    delete: afterwards the object has no pk, and its text may need rows that are gone
    (an API key's text names its provider)."""

    instance: models.Model
    object_id: object
    object_repr: str
    before: dict[str, Any]
    reason: str


def cascaded_deletions(instance: models.Model) -> list[Deletion]:
    """What deleting ``instance`` deletes with it (``CASCADE`` at any depth), found as
    Django's own delete finds it."""
    collector = Collector(using=router.db_for_write(type(instance), instance=instance), origin=instance)
    collector.collect([instance])
    found = [obj for objects in collector.data.values() for obj in objects]
    found += [obj for queryset in collector.fast_deletes for obj in queryset]
    reason = f"deleted with {object_type(instance)} {instance}"
    return [
        Deletion(obj, obj.pk, str(obj), instance_state(obj), reason)
        for obj in sorted(found, key=lambda obj: (object_type(obj), obj.pk))
        if not (type(obj) is type(instance) and obj.pk == instance.pk)
    ]


def audit_record_cascade(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    source: str,
    deletion: Deletion,
    message: str = "",
) -> AuditEntry:
    """Record one object deleted with another; ``message`` says how (the reason follows)."""
    return audit_record(
        actor=actor,
        source=source,
        action=AuditAction.DELETE,
        instance=deletion.instance,
        before=deletion.before,
        after=None,
        message=f"{message} ({deletion.reason})" if message else deletion.reason,
        object_id=deletion.object_id,
        object_repr=deletion.object_repr,
    )
