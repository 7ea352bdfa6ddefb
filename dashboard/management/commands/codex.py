"""``manage.py codex [args]``: run Codex CLI against this gateway.

Codex reads its provider from ``$CODEX_HOME/config.toml``, not from the environment, so the
command writes a throwaway ``CODEX_HOME`` holding one custom provider, ``vandamme``, whose
``base_url`` is the gateway's ``/v1`` (``HOST``/``PORT``) and whose ``wire_api`` is
``responses`` (the only dialect Codex still speaks). The gateway key (``PROXY_API_KEY``, or a
placeholder on an open gateway) goes to Codex in an environment variable named by
``env_key``, never into the file. Every argument goes to ``codex`` unchanged
(``manage.py codex exec "fix the tests" --model openai:gpt-5``); the directory is removed
when Codex exits, and its exit status is the command's.

The user's own ``~/.codex`` (login, config, history) is not read: the run uses only the
gateway. The model is ``--model``/``-m`` when given, else the alias ``codex`` (define it, e.g.
``VDM_ALIAS_CODEX=openai:gpt-5``).
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from routing.management.commands.claude import OPEN_GATEWAY_KEY, gateway_url

# Where ./scripts/test installs the pinned Codex CLI (scripts/_install_codex.sh).
BUNDLED_CODEX = settings.BASE_DIR / ".cache" / "codex" / "node_modules" / ".bin" / "codex"
PROVIDER_ID = "vandamme"
KEY_VARIABLE = "VANDAMME_CODEX_KEY"  # Codex reads the bearer key from the variable env_key names
DEFAULT_MODEL = "codex"  # an alias the operator points at a model
MODEL_FLAGS = ("--model", "-m")


def codex_binary() -> str:
    found = shutil.which("codex")
    if found:
        return found
    if BUNDLED_CODEX.exists():
        return str(BUNDLED_CODEX)
    raise CommandError(
        "Codex CLI is not installed: npm install -g @openai/codex "
        "(./scripts/test installs it under .cache/codex)"
    )


def requested_model(args: Sequence[str]) -> str:
    """The model the user's arguments name (``--model X``, ``--model=X``, ``-m X``), else the
    default alias. Codex applies the flag itself; the config repeats it so that a command
    without the flag (``codex resume``, the TUI) talks to the same model."""
    for index, arg in enumerate(args):
        if arg in MODEL_FLAGS and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--model="):
            return arg.removeprefix("--model=")
    return DEFAULT_MODEL


def toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same quotes, same escapes, \uXXXX).
    return json.dumps(value, ensure_ascii=False)


def codex_config(base_url: str, model: str) -> str:
    """The config.toml: one provider speaking the Responses API to the gateway, and nothing
    that would make Codex log in to OpenAI, check for updates or send telemetry."""
    return "\n".join(
        [
            "# Written by `manage.py codex`; removed when Codex exits.",
            f"model = {toml_string(model)}",
            f'model_provider = "{PROVIDER_ID}"',
            "check_for_update_on_startup = false",
            "",
            f"[model_providers.{PROVIDER_ID}]",
            'name = "vandamme"',
            f"base_url = {toml_string(base_url)}",
            f'env_key = "{KEY_VARIABLE}"',
            'wire_api = "responses"',
            "requires_openai_auth = false",
            "",
            "[analytics]",
            "enabled = false",
            "",
            "[feedback]",
            "enabled = false",
            "",
            "[otel]",
            'exporter = "none"',
            "",
            "[history]",
            'persistence = "none"',
            "",
        ]
    )


def codex_environment(environ: dict[str, str], codex_home: Path) -> dict[str, str]:
    env = {**environ, "CODEX_HOME": str(codex_home)}
    if settings.PROXY_API_KEY:
        env[KEY_VARIABLE] = settings.PROXY_API_KEY
    elif not env.get(KEY_VARIABLE):
        env[KEY_VARIABLE] = OPEN_GATEWAY_KEY  # Codex refuses to start with the variable unset
    return env


def codex_home_parent(environ: dict[str, str]) -> str | None:
    """Where the temporary CODEX_HOME goes: ~/.cache/vandamme when it can be made, because
    Codex declines to install its helper commands (apply_patch …) in a CODEX_HOME under the
    system's temporary directory and warns on every run; else that temporary directory."""
    home = environ.get("HOME")
    if not home:
        return None
    parent = Path(home) / ".cache" / "vandamme"
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(parent)


def run_codex(args: Sequence[str], environ: dict[str, str]) -> int:
    """Run Codex with a temporary CODEX_HOME for this gateway; its exit status."""
    binary = codex_binary()
    codex_home = Path(tempfile.mkdtemp(prefix="codex-home-", dir=codex_home_parent(environ)))
    try:
        config = codex_config(f"{gateway_url()}/v1", requested_model(args))
        (codex_home / "config.toml").write_text(config, encoding="utf-8")
        process = subprocess.Popen([binary, *args], env=codex_environment(environ, codex_home))  # noqa: S603
        # Ctrl-C belongs to Codex (it stops its turn and exits): wait for it, then clean up.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return process.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    finally:
        shutil.rmtree(codex_home, ignore_errors=True)


class Command(BaseCommand):
    help = "Run Codex CLI with a temporary CODEX_HOME pointing at this gateway; arguments go to codex."

    def run_from_argv(self, argv: list[str]) -> None:
        # Every argument belongs to Codex (exec, --model, --help …), none to Django.
        self.handle(*argv[2:])

    def handle(self, *args: Any, **options: Any) -> None:
        status = run_codex([str(arg) for arg in args], dict(os.environ))
        if status:
            raise SystemExit(status)
