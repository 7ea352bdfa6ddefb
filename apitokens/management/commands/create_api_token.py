"""``manage.py create_api_token USERNAME``: a REST API token for a staff user, shown once."""

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apitokens.services import api_token_create


class Command(BaseCommand):
    help = "Create a token for the REST management API (/api/) for a staff user; prints it once."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        if not user.is_staff or not user.is_active:
            raise CommandError(f"{user} is not an active staff user: the API would refuse the token")
        _, plaintext = api_token_create(user=user, label=options["label"])
        self.stdout.write(plaintext)
        self.stderr.write("Stored only as a hash: copy it now, it will not be shown again.")
