"""Load providers, keys and aliases from the environment and TOML files into the database."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from providers.loaders import ConfigFileError
from providers.summary import render_summary_table
from vandamme.configuration import config_load_from_disk


class Command(BaseCommand):
    help = "Apply env + TOML configuration (idempotent). --dry-run shows what would change."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report changes, write nothing.")
        parser.add_argument("--file", help="An extra TOML file, above the local one.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = config_load_from_disk(dry_run=options["dry_run"], extra_file=options["file"])
        except ConfigFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render_summary_table(report.results))
        prefix = "would change" if report.dry_run else "changed"
        for change in report.changes:
            self.stdout.write(f"{prefix}: {change}")
        if not report.changes:
            self.stdout.write("no changes")
        for error in report.errors:
            self.stderr.write(self.style.ERROR(f"error: {error}"))
