"""Show how a model name resolves, step by step (for debugging Claude Code model names)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.errors import GatewayError
from routing.groups.state import group_router
from routing.groups.strategies import GroupChoice
from routing.resolution import resolve_model
from routing.snapshot import build_routing_table


class Command(BaseCommand):
    help = "Resolve model names the way the gateway does and print each step."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("models", nargs="+", help="model names as a client would send them")

    def handle(self, *args: Any, **options: Any) -> None:
        table = build_routing_table()
        failed = False
        for name in options["models"]:
            self.stdout.write(self.style.MIGRATE_HEADING(name))
            try:
                resolution = resolve_model(name, table, chooser=group_router)
            except GatewayError as error:
                self.stdout.write(self.style.ERROR(f"  error: {error.message}"))
                failed = True
                continue
            for step in resolution.steps:
                self.stdout.write(f"  {step}")
            self.stdout.write(
                self.style.SUCCESS(
                    f"  → provider {resolution.provider.name}, model '{resolution.upstream_model}'"
                )
            )
            if resolution.group is not None:
                self._group(resolution.group)
            for fallback in resolution.fallbacks:
                self.stdout.write(f"  fallback: {fallback}")
        if failed:
            raise CommandError("some names did not resolve")

    def _group(self, choice: GroupChoice) -> None:
        self.stdout.write(f"  group {choice.group.name} ({choice.group.strategy}):")
        for target in choice.group.deployments:
            mark = "→" if target is choice.order[0] else " "
            capacity = "".join(
                f", {name} {value}" for name, value in (("rpm", target.rpm), ("tpm", target.tpm)) if value
            )
            self.stdout.write(
                f"   {mark} {target.target} (weight {target.weight:g}, tier {target.tier}{capacity}, "
                f"breaker {group_router.breaker_state(target.target.lower())})"
            )
