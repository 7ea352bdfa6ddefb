"""``manage.py claude [args]``: run Claude Code against this gateway.

Sets ``ANTHROPIC_BASE_URL`` to the gateway's ``HOST``/``PORT`` and, when
``PROXY_API_KEY`` is set, ``ANTHROPIC_API_KEY`` to it; every argument goes to
``claude`` unchanged (``manage.py claude -p "hi" --model openai:gpt-4o``).
"""

import os
import shutil
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# Where ./scripts/test installs Claude Code (scripts/_install_claude_code.sh).
BUNDLED_CLAUDE = settings.BASE_DIR / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
# Claude Code asks for a login without a key; an open gateway accepts any.
OPEN_GATEWAY_KEY = "vandamme-open-gateway"
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104  (listening on all interfaces: connect locally)


def gateway_url() -> str:
    host = "127.0.0.1" if settings.HOST in WILDCARD_HOSTS else settings.HOST
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{settings.PORT}"


def claude_binary() -> str:
    found = shutil.which("claude")
    if found:
        return found
    if BUNDLED_CLAUDE.exists():
        return str(BUNDLED_CLAUDE)
    raise CommandError(
        "Claude Code is not installed: npm install -g @anthropic-ai/claude-code "
        "(./scripts/test installs it under .cache/claude-code)"
    )


def claude_environment(environ: dict[str, str]) -> dict[str, str]:
    env = {**environ, "ANTHROPIC_BASE_URL": gateway_url()}
    if settings.PROXY_API_KEY:
        env["ANTHROPIC_API_KEY"] = settings.PROXY_API_KEY
    elif not env.get("ANTHROPIC_API_KEY"):
        env["ANTHROPIC_API_KEY"] = OPEN_GATEWAY_KEY
    return env


class Command(BaseCommand):
    help = "Run Claude Code with ANTHROPIC_BASE_URL pointing at this gateway; arguments go to claude."

    def run_from_argv(self, argv: list[str]) -> None:
        # Every argument belongs to Claude Code (-p, --model, --help …), none to Django.
        self.handle(*argv[2:])

    def handle(self, *args: Any, **options: Any) -> None:
        binary = claude_binary()
        os.execve(binary, [binary, *map(str, args)], claude_environment(dict(os.environ)))  # noqa: S606
