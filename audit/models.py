"""The audit log: who changed which configuration object, how, and when."""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create", "created"
    UPDATE = "update", "changed"
    DELETE = "delete", "deleted"


class AuditSource(models.TextChoices):
    API = "api", "REST API"
    ADMIN = "admin", "admin"


class AuditEntry(models.Model):
    """One change made through the REST API or the admin.

    ``before`` and ``after`` are the object's fields as JSON with secrets masked
    (``audit.masking``); the object's type, id and text are kept as text, so an entry
    outlives the object (and the user) it names.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=8, choices=AuditSource.choices)
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    # Everything but the states: what the admin page and the API show first.
    DESCRIPTION_FIELDS = (
        "created_at",
        "actor_name",
        "source",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "message",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.object_repr}"
        )
