"""Usage records stored before model names were checked: the migration replaces keys
pasted as model names (and echoed in error messages), and leaves every other row alone."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from teams.models import UsageRecord
from vandamme.secrets import REDACTED, REDACTED_KEY

BEFORE = [("teams", "0005_usage_dead_letter")]
AFTER = [("teams", "0006_redact_keys_in_usage_model_names")]
PASTED = "sk-proj-Zq8v3KfT1nB7yXwR4mC9pL2sD6hJ0gAe5uVtY"
GATEWAY_KEY = "correct-horse-battery-staple"


@pytest.mark.django_db(transaction=True)
def test_stored_keys_in_model_names_and_errors_are_redacted(settings: object) -> None:
    settings.PROXY_API_KEY = GATEWAY_KEY  # type: ignore[attr-defined]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("teams", "UsageRecord")
    common = {"created_at": timezone.now(), "provider": "openai", "status": 200}
    old.objects.create(model_requested=PASTED, model_served=PASTED, **common)
    old.objects.create(model_requested=GATEWAY_KEY, model_served=GATEWAY_KEY, **common)
    error = f"team 'core' may not use model '{PASTED}'"
    old.objects.create(model_requested="fast", model_served="gpt-4o", error=error, **common)
    MigrationExecutor(connection).migrate(AFTER)
    rows = list(UsageRecord.objects.order_by("pk").values_list("model_requested", "model_served", "error"))
    assert rows == [
        (REDACTED_KEY, REDACTED_KEY, ""),
        (REDACTED_KEY, REDACTED_KEY, ""),
        ("fast", "gpt-4o", f"team 'core' may not use model '{REDACTED}'"),
    ]
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
