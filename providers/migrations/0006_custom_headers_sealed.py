"""Custom header values encrypted at rest: every stored value moves, as a Fernet token, to
``sealed_headers``; ``custom_headers`` keeps the shown form (secret-named values masked)."""

from typing import Any

from django.db import migrations, models

from audit.masking import mask_headers
from providers.crypto import decrypt_secret, encrypt_secret


def seal_stored_headers(apps: Any, schema_editor: Any) -> None:
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.exclude(custom_headers={}):
        plain = {str(name): str(value) for name, value in (provider.custom_headers or {}).items()}
        provider.sealed_headers = {name: encrypt_secret(value) for name, value in plain.items()}
        provider.custom_headers = mask_headers(plain)
        provider.save(update_fields=["custom_headers", "sealed_headers"])


def open_sealed_headers(apps: Any, schema_editor: Any) -> None:
    """Backwards: plaintext values again (masked ones from their tokens)."""
    Provider = apps.get_model("providers", "Provider")
    for provider in Provider.objects.exclude(sealed_headers={}):
        opened = {name: decrypt_secret(token) for name, token in provider.sealed_headers.items()}
        shown = provider.custom_headers or {}
        provider.custom_headers = {name: opened.get(name, value) for name, value in shown.items()}
        provider.sealed_headers = {}
        provider.save(update_fields=["custom_headers", "sealed_headers"])


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0005_ambient_credentials_auto_disabled"),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="sealed_headers",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(seal_stored_headers, open_sealed_headers),
    ]
