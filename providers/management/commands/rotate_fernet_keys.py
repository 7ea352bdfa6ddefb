"""Re-encrypt every stored API key and custom header value under the first key in
VANDAMME_FERNET_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand

from providers.services import api_keys_reencrypt, provider_headers_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt stored API keys and custom header values with the newest Fernet key; "
        "then the old key can be dropped."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = api_keys_reencrypt()
        providers = provider_headers_reencrypt()
        self.stdout.write(f"re-encrypted {count} API keys and the custom headers of {providers} providers")
