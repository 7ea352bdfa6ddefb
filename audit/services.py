"""Writing the audit log. The REST API and the admin call these after each change."""

import json
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from audit.masking import mask_secrets
from audit.models import AuditEntry

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
) -> AuditEntry:
    """Record one change. ``object_id`` is needed for deletions (the instance has lost its pk)."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor_id=user.pk if user is not None else None,
        actor_name=user.get_username() if user is not None else "",
        source=source,
        action=action,
        object_type=object_type(instance),
        object_id=str(object_id if object_id is not None else instance.pk),
        object_repr=str(instance)[:200],
        message=message,
        before=before,
        after=after,
    )
