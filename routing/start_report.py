"""What ``manage.py serve`` prints before it listens: a newcomer's first screen.

The providers that loaded (inactive ones counted, not listed), which environment variables
activated them and which ``*_API_KEY`` variables were ignored, the default provider, open or
closed, where the admin is (and the command for the first superuser), the one-line Claude
Code and Codex commands for this gateway, and a loud warning when upstream keys are stored
under the public development Fernet key. Never a secret: fingerprints and variable names only.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model

from providers.config_sync import ApplyReport
from providers.models import ApiKey, LoadStatus, Provider, ProviderLoadResult
from providers.summary import render_summary_table
from teams.gateway_mode import GatewayMode, mode_now
from vandamme.settings import DEVELOPMENT_FERNET_KEY

# A load result's source that is an environment variable (not a file path).
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*\*?$")
PYTHON = ".venv/bin/python"


@dataclass(frozen=True)
class Listening:
    host: str
    port: int

    @property
    def client_host(self) -> str:
        """Where a client on this machine connects (a wildcard address is not one)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104

    @property
    def base_url(self) -> str:
        host = f"[{self.client_host}]" if ":" in self.client_host else self.client_host
        return f"http://{host}:{self.port}"


@dataclass
class StartReport:
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _activations(results: Iterable[ProviderLoadResult]) -> list[str]:
    lines = []
    for result in sorted(results, key=lambda r: r.provider_name):
        if result.status == LoadStatus.INACTIVE:
            continue
        variables = [source for source in result.sources if _VARIABLE.match(source)]
        if variables:
            lines.append(f"  {', '.join(variables)} → {result.provider_name}")
    return lines


UNNAMED_MODEL = "MODEL"


def _default_model() -> tuple[str | None, str]:
    """(default provider, ``provider:model`` for the example commands)."""
    default = Provider.objects.filter(is_default=True, enabled=True).first()
    if default is None:
        return None, f"PROVIDER:{UNNAMED_MODEL}"
    models = [str(m) for m in default.models_list or ()]
    return default.name, f"{default.name}:{models[0] if models else UNNAMED_MODEL}"


def _client_key(mode: GatewayMode) -> str:
    if not mode.closed:
        return "anything"
    return "$PROXY_API_KEY" if settings.PROXY_API_KEY else "vdm-…(a team's gateway key)"


def _port_prefix(listening: Listening) -> str:
    """``manage.py claude``/``codex`` read HOST and PORT from the settings: pass what differs."""
    prefix = "" if listening.port == settings.PORT else f"PORT={listening.port} "
    return prefix + ("" if listening.host == settings.HOST else f"HOST={listening.client_host} ")


def client_commands(listening: Listening, mode: GatewayMode, model: str) -> list[str]:
    key = _client_key(mode)
    codex_key = "" if not mode.closed or settings.PROXY_API_KEY else f"VANDAMME_CODEX_KEY={key} "
    provider = model.partition(":")[0]
    hint = (
        [f"  ({UNNAMED_MODEL}: a model your endpoint serves; {provider.upper()}_MODELS names them)"]
        if model.endswith(f":{UNNAMED_MODEL}")
        else []
    )
    return [
        *hint,
        "Claude Code:",
        f"  ANTHROPIC_BASE_URL={listening.base_url} ANTHROPIC_AUTH_TOKEN={key} "
        f"CLAUDE_CODE_MAX_OUTPUT_TOKENS=16384 claude --model {model}",
        "Codex:",
        f"  {_port_prefix(listening)}{codex_key}{PYTHON} manage.py codex -m {model}",
    ]


def _admin_lines(listening: Listening) -> list[str]:
    lines = [f"Admin: {listening.base_url}/admin/"]
    if not get_user_model().objects.filter(is_superuser=True).exists():
        lines.append(f"  no superuser yet: {PYTHON} manage.py createsuperuser")
    return lines


def development_key_warning() -> str | None:
    """Keys stored under the public development Fernet key are as good as plaintext to
    anyone who reads the database: said loudly at every start."""
    if settings.VANDAMME_FERNET_KEYS[0] != DEVELOPMENT_FERNET_KEY:
        return None
    count = ApiKey.objects.count()
    if not count:
        return None
    return (
        f"WARNING: {count} upstream API key(s) are encrypted with the PUBLIC development Fernet "
        "key (VANDAMME_FERNET_KEYS is unset): anyone with the database can read them. Set "
        "VANDAMME_FERNET_KEYS (README, Secrets and production) and run "
        "`manage.py rotate_fernet_keys`."
    )


def start_report(load: ApplyReport | None, listening: Listening) -> StartReport:
    """The lines ``serve`` prints (``load``: this start's configuration load, if any)."""
    report = StartReport()
    results = load.results if load is not None else list(ProviderLoadResult.objects.all())
    report.lines.append(render_summary_table(results, include_inactive=False).rstrip("\n"))
    activations = _activations(results)
    if activations:
        report.lines += ["Activated by the environment:", *activations]
    if load is not None and load.ignored_variables:
        report.lines.append(
            f"Ignored (no known provider, no {{NAME}}_BASE_URL): {', '.join(load.ignored_variables)}"
        )
    default, model = _default_model()
    report.lines.append(f"Default provider: {default or 'none (model names must say provider:model)'}")
    mode = mode_now()
    report.lines.append(f"Gateway: {mode.name} ({mode.reason})")
    report.lines += _admin_lines(listening)
    report.lines += client_commands(listening, mode, model)
    warning = development_key_warning()
    if warning:
        report.warnings.append(warning)
    return report
