"""Configuration from the environment and TOML files → provider and alias specs. Pure.

Layers, lowest to highest: code defaults (model field defaults) < packaged
``vandamme/defaults.toml`` < user file < local file < environment. They merge field by
field: a local file that sets only ``timeout`` keeps the packaged ``base-url``.
"""

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.endpoints import (
    AMBIENT_CREDENTIAL_FORMATS,
    BEDROCK,
    VERTEX,
    can_run_without_keys,
    effective_base_url,
    looks_like_json_secret,
    region_from_base_url,
    service_account_project,
)
from providers.families import ApiFormat, HostedTools, ProviderFamily
from providers.groups import (
    DEFAULT_STRATEGY,
    Deployment,
    GroupConfigError,
    is_env_group,
    parse_deployments,
    parse_env_group,
    parse_strategy,
)
from providers.middleware_specs import parse_specs

PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
SUPPORTED_FORMATS = tuple(f.value for f in ApiFormat)
PASSTHROUGH_MARKER = "!PASSTHRU"
GATEWAY_PREFIXES = ("VDM_", "VANDAMME_")
GATEWAY_KEY_VARS = frozenset({"PROXY_API_KEY"})
# The source of a value only the packaged defaults set: it describes, never locks (the
# admin may change it; ``providers.config_sync`` writes it on a new row only).
PACKAGED_SOURCE = "default"
TOML_FIELDS = {
    "base-url": "base_url",
    "api-format": "api_format",
    "api-version": "api_version",
    "timeout": "timeout",
    "total-timeout": "total_timeout",
    "max-retries": "max_retries",
    "tool-name-sanitization": "tool_name_sanitization",
    "models": "models_list",
    "fallbacks": "fallbacks",
    "custom-headers": "custom_headers",
    "region": "region",
    "project": "project",
    "requires-key": "requires_key",
    "ambient-credentials": "ambient_credentials",
    "family": "family",
    "responses-api": "responses_api",
    "responses_api": "responses_api",
    "hosted-tools": "hosted_tools",
    "hosted_tools": "hosted_tools",
    "middleware": "middleware",
}
ENV_FIELDS = {
    "BASE_URL": "base_url",
    "API_FORMAT": "api_format",
    "API_VERSION": "api_version",
    "TIMEOUT": "timeout",
    "TOTAL_TIMEOUT": "total_timeout",
    "MAX_RETRIES": "max_retries",
    "TOOL_NAME_SANITIZATION": "tool_name_sanitization",
    "MODELS": "models_list",
    "FALLBACKS": "fallbacks",
    "REGION": "region",
    "PROJECT": "project",
    "REQUIRES_KEY": "requires_key",
    "AMBIENT_CREDENTIALS": "ambient_credentials",
    "FAMILY": "family",
    "RESPONSES_API": "responses_api",
    "HOSTED_TOOLS": "hosted_tools",
    "MIDDLEWARE": "middleware",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigFileError(ValueError):
    """A TOML file that cannot be parsed: names the file and the position."""


@dataclass
class ProviderSpec:
    """One provider as the layers define it. ``keys`` are secrets: never printed."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    field_sources: dict[str, str] = field(default_factory=dict)  # field -> env | file | default
    origins: dict[str, str] = field(default_factory=dict)  # field -> variable or file path
    keys: list[str] = field(default_factory=list, repr=False)
    # What the packaged defaults said, before any layer overrode it.
    packaged_values: dict[str, Any] = field(default_factory=dict)
    keys_source: str = ""
    keys_origin: str = ""
    # Set by any layer above the packaged defaults: a keyless provider that only the
    # packaged file describes stays inactive (Ollama is listed there, not assumed running).
    configured: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def set(self, field_name: str, value: Any, source: str, origin: str) -> None:
        self.values[field_name] = value
        self.field_sources[field_name] = source
        self.origins[field_name] = origin

    @property
    def passthrough(self) -> bool:
        return self.keys == [PASSTHROUGH_MARKER]

    @property
    def api_format(self) -> str:
        return str(self.values.get("api_format", ApiFormat.OPENAI))

    @property
    def keyless(self) -> bool:
        """Serves without a key from the pool (ambient credentials, or none needed)."""
        return can_run_without_keys(
            self.api_format,
            bool(self.values.get("requires_key", True)),
            bool(self.values.get("ambient_credentials", False)),
        )

    @property
    def is_active(self) -> bool:
        return bool(self.keys) or (self.keyless and self.configured)

    @property
    def sources(self) -> list[str]:
        return sorted({*self.origins.values(), *([self.keys_origin] if self.keys_origin else [])})


@dataclass(frozen=True)
class AliasSpec:
    name: str
    target: str
    provider: str | None
    source: str
    origin: str
    # A model group: its targets (``target`` is then the first one) and strategy.
    targets: tuple[Deployment, ...] = ()
    strategy: str = DEFAULT_STRATEGY

    @property
    def is_pattern(self) -> bool:
        return any(char in self.name for char in "*?[")


@dataclass
class ConfigSpec:
    providers: dict[str, ProviderSpec] = field(default_factory=dict)
    aliases: list[AliasSpec] = field(default_factory=list)
    default_provider: str | None = None
    errors: list[str] = field(default_factory=list)
    # ``*_API_KEY`` variables that name no known provider and come without a ``_BASE_URL``.
    ignored_variables: list[str] = field(default_factory=list)

    def provider(self, name: str) -> ProviderSpec:
        if name not in self.providers:
            self.providers[name] = ProviderSpec(name)
        return self.providers[name]


def parse_toml_layer(text: str, *, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{origin}: {exc}") from exc


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return [item for item in re.split(r"[\s,]+", str(value)) if item]


def _coerce(field_name: str, value: Any) -> Any:
    """Typed value for a provider field; raises ValueError with a readable message."""
    if field_name in ("timeout", "total_timeout"):
        number = float(value)
        if number <= 0:
            raise ValueError("must be a positive number of seconds")
        return number
    if field_name == "max_retries":
        if isinstance(value, float) or int(value) < 0:
            raise ValueError("must be a whole number ≥ 0")
        return int(value)
    parser = _PARSERS.get(field_name)
    if parser is not None:
        return parser(value)
    if field_name in ("tool_name_sanitization", "requires_key", "ambient_credentials", "responses_api"):
        return _as_bool(value)
    if field_name in ("models_list", "fallbacks"):
        return _as_list(value)
    if field_name == "custom_headers":
        if not isinstance(value, dict):
            raise ValueError("must be a table of header names to values")
        return {str(k): str(v) for k, v in value.items()}
    if field_name == "api_format":
        return str(value).strip().lower()
    return str(value).strip()


def _one_of(enum: type[ProviderFamily] | type[HostedTools], value: Any) -> str:
    word = str(value).strip().lower()
    allowed = [member.value for member in enum]
    if word not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}, got {value!r}")
    return word


# Fields with a parser of their own (each raises ValueError with a readable message).
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "family": lambda value: _one_of(ProviderFamily, value),
    "hosted_tools": lambda value: _one_of(HostedTools, value),
    "middleware": parse_specs,
}


def _set_checked(spec: ProviderSpec, field_name: str, value: Any, source: str, origin: str) -> None:
    try:
        spec.set(field_name, _coerce(field_name, value), source, origin)
    except (TypeError, ValueError) as exc:
        spec.errors.append(f"{field_name.replace('_', '-')} from {origin}: {exc}")


def _split_keys(raw: Any) -> list[str]:
    """Keys are separated by spaces or commas, except a JSON key (a Google service
    account), which is one key; a TOML list holds one key per item."""
    if isinstance(raw, list):
        return [str(item).strip() for item in raw if str(item).strip()]
    if looks_like_json_secret(str(raw)):
        return [str(raw).strip()]
    return _as_list(raw)


def _set_keys(spec: ProviderSpec, raw: Any, source: str, origin: str) -> None:
    keys = [key for key in _split_keys(raw) if key]
    if PASSTHROUGH_MARKER in keys and len(keys) > 1:
        spec.errors.append(f"{origin}: {PASSTHROUGH_MARKER} cannot be mixed with static API keys")
    spec.keys, spec.keys_source, spec.keys_origin = keys, source, origin


def _apply_toml_aliases(spec: ConfigSpec, table: Any, provider: str | None, origin: str) -> None:
    if not isinstance(table, dict):
        spec.errors.append(f"{origin}: aliases must be a table of name = target")
        return
    for name, target in table.items():
        if isinstance(target, list | dict):
            _apply_toml_group(spec, str(name).lower(), target, provider, origin)
        else:
            spec.aliases.append(AliasSpec(str(name).lower(), str(target), provider, "file", origin))


def _apply_toml_group(
    spec: ConfigSpec, name: str, raw: list[Any] | dict[str, Any], provider: str | None, origin: str
) -> None:
    """``name = ["a:x", "b:y"]`` or ``name = { targets = [...], strategy = "least-busy" }``;
    a group that does not parse is reported and skipped (the rest still loads)."""
    table = raw if isinstance(raw, dict) else {"targets": raw}
    unknown = sorted(set(table) - {"targets", "strategy"})
    try:
        if unknown:
            raise GroupConfigError(f"unknown key(s) {', '.join(unknown)}; use targets and strategy")
        targets = parse_deployments(table.get("targets"))
        strategy = parse_strategy(table.get("strategy"))
    except GroupConfigError as error:
        spec.errors.append(f"{origin}: group '{name}': {error}")
        return
    spec.aliases.append(AliasSpec(name, targets[0].target, provider, "file", origin, targets, strategy))


def _apply_toml_defaults(spec: ConfigSpec, defaults: Any, origin: str, source: str) -> None:
    if not isinstance(defaults, dict):
        spec.errors.append(f"{origin}: [defaults] must be a table")
        return
    if "default-provider" in defaults:
        spec.default_provider = str(defaults["default-provider"]).lower()
    for key in ("timeout", "total-timeout", "max-retries"):
        if key in defaults:
            spec.provider("*").set(TOML_FIELDS[key], defaults[key], source, origin)
    if "middleware" in defaults:  # global: before each provider's own (_apply_global_defaults)
        _set_checked(spec.provider("*"), "middleware", defaults["middleware"], source, origin)
    if "aliases" in defaults:
        _apply_toml_aliases(spec, defaults["aliases"], None, origin)


def _apply_toml_provider(
    spec: ConfigSpec, section: str, table: dict[str, Any], origin: str, *, packaged: bool
) -> None:
    if set(table) == {"prices"}:
        return  # only prices (``pricing.loaders`` reads them): defines no provider
    provider = spec.provider(section.lower())
    provider.configured = provider.configured or not packaged
    source = PACKAGED_SOURCE if packaged else "file"
    for key, value in table.items():
        if key == "prices":
            continue  # read by ``pricing.loaders``
        if key == "api-key":
            _set_keys(provider, value, "file", origin)
        elif key == "aliases":
            _apply_toml_aliases(spec, value, provider.name, origin)
        elif key in TOML_FIELDS:
            _set_checked(provider, TOML_FIELDS[key], value, source, origin)
            if packaged and TOML_FIELDS[key] in provider.values:
                provider.packaged_values[TOML_FIELDS[key]] = provider.values[TOML_FIELDS[key]]
        else:
            provider.warnings.append(f"{origin}: unknown key '{key}' ignored")


def apply_toml_layer(
    spec: ConfigSpec, data: Mapping[str, Any], *, origin: str, packaged: bool = False
) -> None:
    """Merge one parsed TOML file into ``spec`` (later layers win, field by field).

    ``packaged``: the file shipped with vandamme, which describes providers without
    configuring them."""
    for section, table in data.items():
        if section == "defaults":
            _apply_toml_defaults(spec, table, origin, PACKAGED_SOURCE if packaged else "file")
        elif isinstance(table, dict):
            _apply_toml_provider(spec, section, table, origin, packaged=packaged)
        else:
            spec.errors.append(f"{origin}: '{section}' must be a table ([{section}])")


def _env_provider_names(spec: ConfigSpec, environ: Mapping[str, str]) -> list[str]:
    """Prefixes of ``{NAME}_API_KEY`` variables that define a provider: a provider some
    TOML layer (the packaged defaults included) knows, or one given ``{NAME}_BASE_URL``.
    Any other ``*_API_KEY`` belongs to another tool (``TAVILY_API_KEY``,
    ``LANGCHAIN_API_KEY``…): it is listed in ``spec.ignored_variables``, never a provider."""
    names = []
    for variable, value in environ.items():
        if not variable.endswith("_API_KEY") or not value.strip():
            continue
        if variable in GATEWAY_KEY_VARS or variable.startswith(GATEWAY_PREFIXES):
            continue
        prefix = variable.removesuffix("_API_KEY")
        if (
            prefix.lower().replace("_", "-") in spec.providers
            or prefix.lower() in spec.providers
            or environ.get(f"{prefix}_BASE_URL", "").strip()
        ):
            names.append(prefix)
        else:
            spec.ignored_variables.append(variable)
    spec.ignored_variables.sort()
    return names


def _header_name(suffix: str) -> str:
    return "-".join(part.capitalize() for part in suffix.split("_") if part)


def _apply_env_provider(spec: ConfigSpec, prefix: str, environ: Mapping[str, str]) -> None:
    provider = spec.provider(prefix.lower())
    key_var = f"{prefix}_API_KEY"
    if environ.get(key_var, "").strip():
        _set_keys(provider, environ[key_var], "env", key_var)
    for suffix, field_name in ENV_FIELDS.items():
        variable = f"{prefix}_{suffix}"
        if variable in environ:
            _set_checked(provider, field_name, environ[variable], "env", variable)
            provider.configured = True
    header_prefix = f"{prefix}_CUSTOM_HEADER_"
    headers = {
        _header_name(v.removeprefix(header_prefix)): value
        for v, value in environ.items()
        if v.startswith(header_prefix)
    }
    if headers:
        merged = {**provider.values.get("custom_headers", {}), **headers}
        provider.set("custom_headers", merged, "env", f"{header_prefix}*")
    alias_prefix = f"{prefix}_ALIAS_"
    for variable, target in environ.items():
        if variable.startswith(alias_prefix) and target.strip():
            name = variable.removeprefix(alias_prefix).lower().replace("_", "-")
            _apply_env_alias(spec, name, target.strip(), provider.name, variable, environ)


def apply_environment(spec: ConfigSpec, environ: Mapping[str, str]) -> None:
    """Merge the environment: it beats every file."""
    prefixes = set(_env_provider_names(spec, environ))
    prefixes |= {name.upper().replace("-", "_") for name in spec.providers if name != "*"}
    for prefix in sorted(prefixes):
        if PROVIDER_NAME.match(prefix.lower()):
            _apply_env_provider(spec, prefix, environ)
        elif f"{prefix}_API_KEY" in environ:
            spec.errors.append(f"{prefix}_API_KEY: '{prefix.lower()}' is not a valid provider name")
    if environ.get("VDM_MIDDLEWARE", "").strip():
        _set_checked(spec.provider("*"), "middleware", environ["VDM_MIDDLEWARE"], "env", "VDM_MIDDLEWARE")
    if environ.get("VDM_DEFAULT_PROVIDER", "").strip():
        spec.default_provider = environ["VDM_DEFAULT_PROVIDER"].strip().lower()
    for variable, target in environ.items():
        if variable.startswith("VDM_ALIAS_") and target.strip():
            name = variable.removeprefix("VDM_ALIAS_").lower().replace("_", "-")
            _apply_env_alias(spec, name, target.strip(), None, variable, environ)


def _apply_env_alias(
    spec: ConfigSpec, name: str, value: str, provider: str | None, variable: str, environ: Mapping[str, str]
) -> None:
    """One target, or a group: ``a:x;weight=3, b:y;tier=2`` (strategy from
    ``VDM_GROUP_STRATEGY_<NAME>``)."""
    if not is_env_group(value):
        spec.aliases.append(AliasSpec(name, value, provider, "env", variable))
        return
    strategy_variable = f"VDM_GROUP_STRATEGY_{name.upper().replace('-', '_')}"
    try:
        targets = parse_env_group(value)
        strategy = parse_strategy(environ.get(strategy_variable))
    except GroupConfigError as error:
        spec.errors.append(f"{variable}: group '{name}': {error}")
        return
    spec.aliases.append(AliasSpec(name, targets[0].target, provider, "env", variable, targets, strategy))


def _dedupe_aliases(aliases: list[AliasSpec]) -> list[AliasSpec]:
    """Later layers win: keep the last definition of each (provider, name)."""
    latest: dict[tuple[str | None, str], AliasSpec] = {}
    for alias in aliases:
        latest[(alias.provider, alias.name)] = alias
    return list(latest.values())


def _validate(spec: ProviderSpec) -> None:
    if not PROVIDER_NAME.match(spec.name):
        spec.errors.append(
            f"'{spec.name}' is not a valid provider name (lower-case letters, digits, '_' or '-')"
        )
    api_format = spec.api_format
    if api_format not in SUPPORTED_FORMATS:
        spec.errors.append(f"unknown api-format '{api_format}' (supported: {', '.join(SUPPORTED_FORMATS)})")
    region = str(spec.values.get("region", ""))
    base_url = effective_base_url(api_format, str(spec.values.get("base_url", "")), region)
    if not base_url:
        hint = " or a region" if api_format in AMBIENT_CREDENTIAL_FORMATS else ""
        spec.errors.append(f"missing base URL (set base-url in TOML or {{NAME}}_BASE_URL{hint})")
    elif not base_url.startswith(("http://", "https://")):
        spec.errors.append(f"base URL '{base_url}' must start with http:// or https://")
    elif api_format in AMBIENT_CREDENTIAL_FORMATS:
        _validate_cloud(spec, region, base_url)


def _validate_cloud(spec: ProviderSpec, region: str, base_url: str) -> None:
    """Bedrock signs for a region; Vertex names region and project in every URL."""
    if spec.api_format == BEDROCK and not (region or region_from_base_url(BEDROCK, base_url)):
        spec.errors.append("bedrock needs a region (region in TOML or {NAME}_REGION)")
    if spec.api_format != VERTEX:
        return
    if not region:
        spec.errors.append("vertex needs a region, e.g. us-east5 or global (region or {NAME}_REGION)")
    keys_name_project = bool(spec.keys) and bool(service_account_project(spec.keys[0]))
    if not spec.values.get("project") and not keys_name_project:
        spec.errors.append("vertex needs a project (project or {NAME}_PROJECT, or a key with project_id)")


def _drop_packaged_models_for_another_endpoint(spec: ProviderSpec) -> None:
    """The packaged model list describes the packaged endpoint: a provider pointed
    elsewhere (``OPENAI_BASE_URL=http://my-llm/v1``) lists none rather than OpenAI's, until
    a layer or the admin names its models."""
    packaged_url = spec.packaged_values.get("base_url")
    if packaged_url is None or spec.field_sources.get("base_url") in (None, PACKAGED_SOURCE):
        return
    if (
        spec.values.get("base_url") == packaged_url
        or spec.field_sources.get("models_list") != PACKAGED_SOURCE
    ):
        return
    origin = f"{spec.origins['base_url']} (another endpoint: the packaged model list does not apply)"
    spec.set("models_list", [], PACKAGED_SOURCE, origin)


def _apply_global_defaults(spec: ConfigSpec) -> None:
    globals_spec = spec.providers.pop("*", None)
    if globals_spec is None:
        return
    spec.errors.extend(globals_spec.errors)  # e.g. a VDM_MIDDLEWARE that is not valid JSON
    for provider in spec.providers.values():
        for field_name, value in globals_spec.values.items():
            if field_name == "middleware":  # global middleware runs first, then the provider's own
                own = provider.values.get("middleware", [])
                origin = provider.origins.get("middleware", globals_spec.origins[field_name])
                provider.set("middleware", [*value, *own], globals_spec.field_sources[field_name], origin)
            elif field_name not in provider.values:
                _set_checked(
                    provider,
                    field_name,
                    value,
                    globals_spec.field_sources[field_name],
                    globals_spec.origins[field_name],
                )


def build_config(
    *, environ: Mapping[str, str], toml_layers: list[tuple[str, str]], packaged_origin: str | None = None
) -> ConfigSpec:
    """All layers merged. ``toml_layers`` is ``[(text, origin), …]``, lowest first;
    the layer whose origin is ``packaged_origin`` is the packaged defaults file."""
    spec = ConfigSpec()
    for text, origin in toml_layers:
        packaged = origin == packaged_origin
        apply_toml_layer(spec, parse_toml_layer(text, origin=origin), origin=origin, packaged=packaged)
    apply_environment(spec, environ)
    for provider in spec.providers.values():
        _drop_packaged_models_for_another_endpoint(provider)
    _apply_global_defaults(spec)
    spec.aliases = _dedupe_aliases(spec.aliases)
    for provider in spec.providers.values():
        if provider.is_active:
            _validate(provider)
    return spec
