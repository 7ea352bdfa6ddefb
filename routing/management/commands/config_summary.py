"""Print the result of the last configuration load."""

from typing import Any

from django.core.management.base import BaseCommand

from providers.models import ProviderLoadResult
from providers.summary import render_summary_table


class Command(BaseCommand):
    help = "Show each provider's last load result (status, format, base URL, key fingerprints)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(render_summary_table(ProviderLoadResult.objects.all()))
