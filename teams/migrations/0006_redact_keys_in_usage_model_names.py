"""Usage records written before model names were checked for keys: a key pasted as a
model name (or echoed in an error message) is replaced, as new records have it
(``vandamme.secrets``). Only the rows that change are written."""

from typing import Any

from django.conf import settings
from django.db import migrations

from vandamme.secrets import redact_keys, safe_model_name

BATCH = 2000


def redact_stored_keys(apps: Any, schema_editor: Any) -> None:
    UsageRecord = apps.get_model("teams", "UsageRecord")
    known = (settings.PROXY_API_KEY,)
    changed = []
    rows = UsageRecord.objects.only("pk", "model_requested", "model_served", "error").iterator(BATCH)
    for row in rows:
        safe = (
            safe_model_name(row.model_requested, known),
            safe_model_name(row.model_served, known),
            redact_keys(row.error, known),
        )
        if safe != (row.model_requested, row.model_served, row.error):
            row.model_requested, row.model_served, row.error = safe
            changed.append(row)
    UsageRecord.objects.bulk_update(changed, ["model_requested", "model_served", "error"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0005_usage_dead_letter"),
    ]

    operations = [
        migrations.RunPython(redact_stored_keys, migrations.RunPython.noop, elidable=True),
    ]
