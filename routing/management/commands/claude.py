"""``manage.py claude [--url URL] [args]``: run Claude Code against this gateway.

- ``ANTHROPIC_BASE_URL``: ``--url`` when given, else the address this checkout's running
  gateway recorded (``routing.gateway_address``: found whatever port it was started on),
  else the settings' ``HOST``/``PORT``.
- The gateway key goes in ``ANTHROPIC_AUTH_TOKEN`` (sent as ``Authorization: Bearer``,
  which the gateway accepts), never in ``ANTHROPIC_API_KEY``: Claude Code asks "Do you
  want to use this API key?" (with "No" preselected) for every new ``ANTHROPIC_API_KEY``
  and, on a first run, checks its connection to api.anthropic.com before it starts. For
  ``ANTHROPIC_AUTH_TOKEN`` it does neither (read in Claude Code 2.1's bundle: the
  question is asked only when ``ANTHROPIC_API_KEY`` is set and its last 20 characters
  are not in ``customApiKeyResponses.approved`` of ``~/.claude.json``). The key is
  ``PROXY_API_KEY`` when set, else your own ``ANTHROPIC_AUTH_TOKEN`` or
  ``ANTHROPIC_API_KEY`` (a team's gateway key), else ``OPEN_GATEWAY_KEY``: a fixed
  stand-in, since an open gateway accepts any key and Claude Code wants one.
- ``CLAUDE_CODE_MAX_OUTPUT_TOKENS``: yours when set, else ``DEFAULT_MAX_OUTPUT_TOKENS``.
  Claude Code asks for 32 000 output tokens from a model it does not know (every
  ``provider:model`` name), which gpt-4o and most non-Anthropic models refuse. The gateway
  cannot tell a model's output limit: its providers list model names only, and
  genai-prices' data has prices and context windows, no output limits.

Every other argument goes to ``claude`` unchanged (``manage.py claude -p "hi" --model
openai:gpt-4o``).
"""

import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from routing.gateway_address import gateway_url

__all__ = ["OPEN_GATEWAY_KEY", "gateway_url"]  # codex's command shares both

# Where ./scripts/test installs Claude Code (scripts/_install_claude_code.sh).
BUNDLED_CLAUDE = settings.BASE_DIR / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
# Claude Code asks for a login without a key; an open gateway accepts any.
OPEN_GATEWAY_KEY = "vandamme-open-gateway"
# What gpt-4o and gpt-4o-mini accept at most, and every current Claude model at least.
DEFAULT_MAX_OUTPUT_TOKENS = 16384
URL_FLAG = "--url"


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


def split_url(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--url URL`` / ``--url=URL`` (this command's) and the arguments left for claude."""
    url: str | None = None
    rest: list[str] = []
    pending = False
    for arg in args:
        if pending:
            url, pending = arg, False
        elif arg == URL_FLAG:
            pending = True
        elif arg.startswith(f"{URL_FLAG}="):
            url = arg.removeprefix(f"{URL_FLAG}=")
        else:
            rest.append(arg)
    if pending or url == "":
        raise CommandError("--url needs the gateway's URL, e.g. --url http://127.0.0.1:8082")
    if url is not None and not url.startswith(("http://", "https://")):
        raise CommandError(f"--url must be an http:// or https:// URL, not {url!r}")
    return (url.rstrip("/") if url else None), rest


def gateway_key(environ: dict[str, str]) -> str:
    return (
        settings.PROXY_API_KEY
        or environ.get("ANTHROPIC_AUTH_TOKEN")
        or environ.get("ANTHROPIC_API_KEY")
        or OPEN_GATEWAY_KEY
    )


def claude_environment(environ: dict[str, str], url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in environ.items() if key != "ANTHROPIC_API_KEY"}
    env["ANTHROPIC_BASE_URL"] = url or gateway_url()
    env["ANTHROPIC_AUTH_TOKEN"] = gateway_key(environ)
    env.setdefault("CLAUDE_CODE_MAX_OUTPUT_TOKENS", str(DEFAULT_MAX_OUTPUT_TOKENS))
    return env


class Command(BaseCommand):
    help = "Run Claude Code with ANTHROPIC_BASE_URL pointing at this gateway; arguments go to claude."

    def run_from_argv(self, argv: list[str]) -> None:
        # Every argument but --url belongs to Claude Code (-p, --model, --help …), none to
        # Django; so BaseCommand.run_from_argv, which would print a CommandError, is skipped.
        try:
            self.handle(*argv[2:])
        except CommandError as error:
            self.stderr.write(f"CommandError: {error}")
            sys.exit(error.returncode)

    def handle(self, *args: Any, **options: Any) -> None:
        url, claude_args = split_url([str(arg) for arg in args])
        binary = claude_binary()
        os.execve(binary, [binary, *claude_args], claude_environment(dict(os.environ), url))  # noqa: S606
