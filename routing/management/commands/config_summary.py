"""Print the result of the last configuration load."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from providers.models import ProviderLoadResult
from providers.summary import render_summary_table


class Command(BaseCommand):
    help = "Show each provider's last load result (status, format, base URL, key fingerprints)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="List the inactive providers too.")

    def handle(self, *args: Any, **options: Any) -> None:
        results = ProviderLoadResult.objects.all()
        self.stdout.write(render_summary_table(results, include_inactive=options["all"]))
