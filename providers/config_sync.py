"""Apply loaded provider configuration to the database: idempotent.

- Providers are upserted by name; only the fields a layer sets are written and marked
  in ``field_sources`` (the admin shows those read-only). Fields no layer sets stay as
  the admin left them.
- Keys with source ``env``/``file`` follow the configuration exactly
  (removed from it → removed from the pool); rows added in the admin are left alone.
  Such a key that the gateway disabled after authentication failures (``auto_disabled``)
  is enabled again: loading the configuration (a restart) says "use this key". One an
  operator disabled stays disabled.
- A provider that fails validation is reported and not touched; the others still load.
- A fallback naming a provider that cannot serve is reported in its provider's load
  result (it would be skipped on every request).
Nothing is written when nothing changed, so a reload bumps no generation.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from providers.crypto import fingerprint_secret
from providers.endpoints import AMBIENT_CREDENTIAL_FORMATS, effective_base_url
from providers.headers import headers_open, provider_headers_set
from providers.loaders import PACKAGED_SOURCE, ConfigSpec, ProviderSpec
from providers.middleware_specs import check_importable, middleware_note
from providers.models import ApiKey, LoadStatus, Provider, ProviderLoadResult, Source
from providers.services import api_key_create, api_keys_set_enabled, provider_set_default

PACKAGED_DEFAULTS = Path(settings.BASE_DIR) / "vandamme" / "defaults.toml"


@dataclass
class ApplyReport:
    results: list[ProviderLoadResult] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    # ``*_API_KEY`` variables that defined no provider (``ConfigSpec.ignored_variables``).
    ignored_variables: list[str] = field(default_factory=list)


def _row_source(spec: ProviderSpec) -> str:
    sources = {*spec.field_sources.values(), spec.keys_source}
    return Source.ENV if Source.ENV in sources else Source.FILE


def _upsert_provider(spec: ProviderSpec, report: ApplyReport) -> Provider:
    provider = Provider.objects.filter(name=spec.name).first()
    created = provider is None
    if provider is None:
        provider = Provider(name=spec.name, source=_row_source(spec))
    wanted = _wanted_values(provider, spec, created)
    headers = wanted.pop("custom_headers", None)
    # Only what the operator's environment and files set is managed (read-only elsewhere).
    operator_set = {name: source for name, source in spec.field_sources.items() if source != PACKAGED_SOURCE}
    field_sources = {**operator_set, "passthrough": spec.keys_source}
    changed = [name for name, value in wanted.items() if getattr(provider, name) != value]
    for name in changed:
        setattr(provider, name, wanted[name])
    # Sealed values differ on every encryption: compare the plaintext, seal only a change.
    if headers is not None and headers_open(provider.sealed_headers or {}) != headers:
        provider_headers_set(provider=provider, headers=headers)
        changed.append("custom_headers")
    if provider.field_sources != field_sources:
        provider.field_sources = field_sources
        changed.append("field_sources")
    if created or changed:
        provider.full_clean(exclude=["is_default"], validate_unique=False)
        provider.save()
        report.changes.append(
            f"provider {spec.name}: {'created' if created else 'updated ' + ', '.join(changed)}"
        )
    return provider


def _wanted_values(provider: Provider, spec: ProviderSpec, created: bool) -> dict[str, Any]:
    """The values this load writes. A packaged default describes and never locks: it is
    written on a new row, when an operator's override of it goes away, and when the base
    URL changes (the packaged description of one endpoint does not fit another); otherwise
    the admin's value stands."""
    wanted: dict[str, Any] = {**spec.values, "passthrough": spec.passthrough}
    previously_managed = set(provider.field_sources or {})
    # Only an operator's new base URL: the admin's own edit of a packaged one stands.
    operator_url = spec.field_sources.get("base_url") not in (None, PACKAGED_SOURCE)
    base_url_changes = operator_url and wanted["base_url"] != provider.base_url
    for name, source in spec.field_sources.items():
        if source == PACKAGED_SOURCE and not (created or base_url_changes or name in previously_managed):
            wanted.pop(name, None)
    return wanted


def _sync_keys(provider: Provider, spec: ProviderSpec, report: ApplyReport) -> list[str]:
    secrets = [] if spec.passthrough else list(dict.fromkeys(spec.keys))
    wanted = {fingerprint_secret(secret): secret for secret in secrets}
    managed = ApiKey.objects.filter(provider=provider, source__in=[Source.ENV, Source.FILE])
    for stale in managed.exclude(fingerprint__in=list(wanted)):
        stale.delete()
        report.changes.append(f"provider {provider.name}: removed key {stale.fingerprint}")
    present = set(
        ApiKey.objects.filter(provider=provider, fingerprint__in=list(wanted)).values_list(
            "fingerprint", flat=True
        )
    )
    for fingerprint, secret in wanted.items():
        if fingerprint not in present:
            api_key_create(provider=provider, secret=secret, source=spec.keys_source)
            report.changes.append(f"provider {provider.name}: added key {fingerprint}")
    revived = managed.filter(fingerprint__in=list(wanted), enabled=False, auto_disabled=True)
    for api_key in revived:
        api_keys_set_enabled(keys=[api_key], enabled=True)
        report.changes.append(
            f"provider {provider.name}: re-enabled key {api_key.fingerprint} (disabled after auth failures)"
        )
    return list(wanted)


def _drop_managed_keys(name: str, report: ApplyReport) -> None:
    stale = ApiKey.objects.filter(provider__name=name, source__in=[Source.ENV, Source.FILE])
    for key in stale:
        key.delete()
        report.changes.append(f"provider {name}: removed key {key.fingerprint} (no longer configured)")


def _record(
    report: ApplyReport, spec: ProviderSpec, status: str, message: str, fingerprints: list[str]
) -> None:
    result, _ = ProviderLoadResult.objects.update_or_create(
        provider_name=spec.name,
        defaults={
            "status": status,
            "message": message,
            "key_fingerprints": fingerprints,
            "base_url": effective_base_url(
                spec.api_format, str(spec.values.get("base_url", "")), str(spec.values.get("region", ""))
            ),
            "api_format": spec.api_format,
            "sources": spec.sources,
        },
    )
    report.results.append(result)


def _apply_provider(spec: ProviderSpec, report: ApplyReport) -> Provider | None:
    if not spec.is_active:
        _drop_managed_keys(spec.name, report)
        _record(report, spec, LoadStatus.INACTIVE, _inactive_reason(spec), [])
        return None
    errors = [*spec.errors, *_middleware_problems(spec)]
    if errors:
        _record(report, spec, LoadStatus.FAILURE, "; ".join(errors), [])
        return None
    provider = _upsert_provider(spec, report)
    fingerprints = _sync_keys(provider, spec, report)
    status = LoadStatus.PARTIAL if spec.warnings else LoadStatus.SUCCESS
    middleware = middleware_note(spec.values.get("middleware") or [])
    notes = ["; ".join(spec.warnings) or _active_note(spec), middleware]
    _record(report, spec, status, "; ".join(note for note in notes if note), fingerprints)
    return provider


def _middleware_problems(spec: ProviderSpec) -> list[str]:
    """A middleware that cannot be imported or refuses its options fails its provider's
    load, as any other configuration error (a guardrail with a typo guards nothing)."""
    try:
        check_importable(spec.values.get("middleware") or [])
    except ValueError as exc:
        return [str(exc)]
    return []


def _inactive_reason(spec: ProviderSpec) -> str:
    if spec.keyless or (spec.api_format in AMBIENT_CREDENTIAL_FORMATS and not spec.configured):
        return "not configured (set any of its variables or a TOML section to enable it)"
    if spec.api_format in AMBIENT_CREDENTIAL_FORMATS and spec.configured:
        variable = f"{spec.name.upper().replace('-', '_')}_AMBIENT_CREDENTIALS"
        return (
            "no API key configured (to sign with this host's own cloud identity instead, "
            f"set {variable}=true or ambient-credentials = true)"
        )
    return "no API key configured"


def _active_note(spec: ProviderSpec) -> str:
    if spec.passthrough:
        return "passthrough (client keys forwarded)"
    if not spec.keys and spec.keyless:
        ambient = spec.api_format in AMBIENT_CREDENTIAL_FORMATS
        return "credentials from the environment" if ambient else "no key needed"
    return ""


def _choose_default(config: ConfigSpec, loaded: dict[str, Provider], report: ApplyReport) -> None:
    """The configured default if it loaded; else the only loaded provider, if just one."""
    name = config.default_provider
    if name not in loaded:
        if name and name in config.providers and config.providers[name].is_active:
            report.errors.append(f"default provider '{name}' did not load")
        name = next(iter(loaded)) if len(loaded) == 1 else None
    if name is None:
        return
    current = Provider.objects.filter(is_default=True).first()
    if current is None or current.name != name:
        provider_set_default(provider=loaded[name])
        report.changes.append(f"default provider: {name}")


def providers_apply(*, config: ConfigSpec, report: ApplyReport) -> dict[str, Provider]:
    """Upsert every provider and its keys, record load results, pick the default.

    Call inside a transaction (``vandamme.configuration.config_apply`` does).
    """
    loaded: dict[str, Provider] = {}
    for spec in sorted(config.providers.values(), key=lambda s: s.name):
        provider = _apply_provider(spec, report)
        if provider is not None:
            loaded[spec.name] = provider
    _choose_default(config, loaded, report)
    _report_unresolvable_fallbacks(config, loaded, report)
    return loaded


def _fallback_provider(entry: str) -> str:
    """A fallback is a provider name (same model) or ``provider:model``."""
    return entry.partition(":")[0].strip().lower()


def _report_unresolvable_fallbacks(
    config: ConfigSpec, loaded: dict[str, Provider], report: ApplyReport
) -> None:
    # Providers made in the admin (no layer mentions them) serve if enabled.
    admin_made = Provider.objects.filter(enabled=True).exclude(name__in=list(config.providers))
    serving = set(loaded) | set(admin_made.values_list("name", flat=True))
    for result in report.results:
        provider = loaded.get(result.provider_name)
        entries = [str(entry) for entry in (provider.fallbacks or ())] if provider else []
        dead = [entry for entry in entries if _fallback_provider(entry) not in serving]
        if not dead:
            continue
        note = "; ".join(
            f"fallback '{entry}': provider '{_fallback_provider(entry)}' is not active (skipped)"
            for entry in dead
        )
        result.message = f"{result.message}; {note}" if result.message else note
        if result.status == LoadStatus.SUCCESS:
            result.status = LoadStatus.PARTIAL
        result.save(update_fields=["message", "status", "loaded_at"])


def read_toml_layers(extra_file: str | None = None) -> list[tuple[str, str]]:
    """Packaged, user and local TOML files that exist, lowest first."""
    paths = [
        PACKAGED_DEFAULTS,
        Path(settings.VANDAMME_USER_CONFIG_FILE).expanduser(),
        Path(settings.VANDAMME_CONFIG_FILE),
    ]
    if extra_file:
        paths.append(Path(extra_file))
    return [(path.read_text(), str(path)) for path in paths if path.is_file()]
