"""``Provider.ambient_credentials`` and ``ApiKey.auto_disabled``.

Before this migration a Bedrock or Vertex provider with an empty pool always signed with
the host's own cloud identity. The switch is now explicit (default off); a Bedrock or
Vertex provider that has no key at all when this migration runs was relying on that
chain, so it gets ``ambient_credentials = True`` and keeps working. A provider with keys
(even disabled ones) does not: it never meant to use the host's identity.
"""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

CLOUD_FORMATS = ("bedrock", "vertex")


def keep_keyless_cloud_providers_working(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    provider_model = apps.get_model("providers", "Provider")
    keyless = provider_model.objects.filter(api_format__in=CLOUD_FORMATS, keys__isnull=True)
    provider_model.objects.filter(pk__in=keyless.values("pk")).update(ambient_credentials=True)


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0004_regions_projects_keyless"),
    ]

    operations = [
        migrations.AddField(
            model_name="provider",
            name="ambient_credentials",
            field=models.BooleanField(
                default=False,
                help_text="Bedrock and Vertex: with no key in the pool, sign with this host's own cloud "
                "identity (AWS environment/profile/instance role; Google Application Default "
                "Credentials). Off: an empty or all-disabled pool stops the provider.",
            ),
        ),
        migrations.AlterField(
            model_name="provider",
            name="requires_key",
            field=models.BooleanField(
                default=True, help_text="Off: serves without a key (e.g. Ollama). Bedrock and Vertex: see below."
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="auto_disabled",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="Disabled by the gateway after repeated authentication failures (not by an "
                "operator): the next configuration load re-enables a key set by the environment or a file.",
            ),
        ),
        migrations.RunPython(keep_keyless_cloud_providers_working, migrations.RunPython.noop),
    ]
