"""The base of the REST API's writable endpoints: writes go through the apps' services,
each one lands in the audit log, and service errors become 400/409 responses."""

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from rest_framework import exceptions, serializers, status, viewsets

from audit.models import AuditAction, AuditSource
from audit.services import (
    Deletion,
    audit_record,
    audit_record_cascade,
    cascaded_deletions,
    instance_state,
)

M = TypeVar("M", bound=models.Model)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The change conflicts with the object's current state."
    default_code = "conflict"


class AuditedModelViewSet(viewsets.ModelViewSet, Generic[M]):
    """Subclasses name the services: ``create_object``, ``update_object``, ``delete_object``.

    ``conflict_errors`` are service exceptions answered with 409 (e.g. a change to
    fields a configuration file manages); Django validation errors are 400s.
    """

    conflict_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def create_object(self, data: dict[str, Any]) -> M:
        raise NotImplementedError

    def update_object(self, obj: M, data: dict[str, Any]) -> M:
        raise NotImplementedError

    def delete_object(self, obj: M) -> None:
        raise NotImplementedError

    def _write(self, action: str, current: M | None, service: Callable[[], M | None]) -> M:
        """Run a service and record it in the audit log, in one transaction."""
        before = instance_state(current) if current is not None else None
        object_id = current.pk if current is not None else None
        try:
            with transaction.atomic():
                # Found before the delete, in its transaction: what goes with the object.
                cascaded = cascaded_deletions(current) if action == AuditAction.DELETE and current else []
                obj = service() or current
                assert obj is not None  # noqa: S101  (create and update return the object)
                self._audit(action, obj, before, object_id)
                for deletion in cascaded:
                    self._audit_cascade(deletion)
        except self.conflict_errors as error:
            raise Conflict(str(error)) from error
        except DjangoValidationError as error:
            detail = error.message_dict if hasattr(error, "error_dict") else error.messages
            raise exceptions.ValidationError(detail) from error
        except ValueError as error:  # a service's own refusal of a value
            raise exceptions.ValidationError({"detail": str(error)}) from error
        except IntegrityError as error:  # a constraint the model's validation cannot see
            raise Conflict("the change conflicts with an existing object (database constraint)") from error
        return obj

    def _audit(self, action: str, obj: M, before: dict[str, Any] | None, object_id: object) -> None:
        audit_record(
            actor=self.request.user,
            source=AuditSource.API,
            action=action,
            instance=obj,
            before=before,
            after=None if action == AuditAction.DELETE else instance_state(obj),
            message=self._how(),
            object_id=object_id,
        )

    def _audit_cascade(self, deletion: Deletion) -> None:
        audit_record_cascade(
            actor=self.request.user, source=AuditSource.API, deletion=deletion, message=self._how()
        )

    def _how(self) -> str:
        return f"{self.request.method} {self.request.path}"

    def perform_create(self, serializer: serializers.BaseSerializer[M]) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = self._write(AuditAction.CREATE, None, lambda: self.create_object(data))

    def perform_update(self, serializer: serializers.BaseSerializer[M]) -> None:
        obj: M = serializer.instance  # type: ignore[assignment]
        data = dict(serializer.validated_data)
        serializer.instance = self._write(AuditAction.UPDATE, obj, lambda: self.update_object(obj, data))

    def perform_destroy(self, instance: M) -> None:
        self._write(AuditAction.DELETE, instance, lambda: self.delete_object(instance))
