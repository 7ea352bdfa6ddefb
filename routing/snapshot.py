"""The routing snapshot: all configuration the hot path needs, held in process memory.

Built from the database in one synchronous call (a handful of queries, secrets
decrypted once) and replaced whole. A request checks the configuration generation at
most once per ``VANDAMME_SNAPSHOT_TTL`` seconds; only a changed generation rebuilds.
"""

import asyncio
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.views.decorators.debug import sensitive_variables

from aliases.models import Alias
from providers.crypto import decrypt_secret
from providers.endpoints import can_run_without_keys, region_from_base_url, service_account_project
from providers.generation import config_generation_aget, config_generation_get
from providers.models import LoadStatus, Provider, ProviderLoadResult
from routing.table import (
    AliasConfig,
    GatewayKeyConfig,
    KeyConfig,
    ProviderConfig,
    RateLimits,
    RoutingTable,
    TeamConfig,
)
from teams.models import Team


@sensitive_variables("secret", "first_secret")
def _provider_config(provider: Provider) -> ProviderConfig:
    keys = tuple(
        KeyConfig(key.pk, key.fingerprint, decrypt_secret(key.ciphertext))
        for key in provider.keys.all()
        if key.enabled
    )
    base_url = provider.resolved_base_url
    first_secret = keys[0].secret if keys else ""
    return ProviderConfig(
        name=provider.name,
        api_format=provider.api_format,
        base_url=base_url,
        api_version=provider.api_version,
        timeout=provider.timeout,
        max_retries=provider.max_retries,
        total_timeout=provider.total_timeout,
        custom_headers=tuple((str(k), str(v)) for k, v in (provider.custom_headers or {}).items()),
        tool_name_sanitization=provider.tool_name_sanitization,
        passthrough=provider.passthrough,
        models=tuple(str(m) for m in provider.models_list or ()),
        keys=keys,
        fallbacks=tuple(str(f) for f in provider.fallbacks or ()),
        region=provider.region or region_from_base_url(provider.api_format, base_url),
        project=provider.project or service_account_project(first_secret),
        requires_key=not can_run_without_keys(provider.api_format, provider.requires_key),
    )


def _gateway_keys() -> dict[str, GatewayKeyConfig]:
    keys: dict[str, GatewayKeyConfig] = {}
    for team in Team.objects.filter(enabled=True).prefetch_related("keys", "aliases"):
        config = TeamConfig(
            name=team.name,
            team_id=team.pk,
            allowed_providers=frozenset(str(p).lower() for p in team.allowed_providers or ()),
            allowed_models=tuple(str(m).lower() for m in team.allowed_models or ()),
            aliases={alias.name: alias.target for alias in team.aliases.all()},
            rate_limits=RateLimits(team.requests_per_minute, team.tokens_per_minute),
            token_budget=team.token_budget,
            budget_period=team.budget_period,
        )
        for key in team.keys.all():
            if key.enabled:
                expires = key.expires_at.timestamp() if key.expires_at else None
                key_limits = RateLimits(key.requests_per_minute, key.tokens_per_minute)
                keys[key.key_hash] = GatewayKeyConfig(key.pk, key.prefix, config, expires, key_limits)
    return keys


def build_routing_table() -> RoutingTable:
    """Read the whole configuration (sync; call through ``sync_to_async`` from async code)."""
    generation = config_generation_get()
    providers: dict[str, ProviderConfig] = {}
    unavailable: dict[str, str] = {}
    default_provider = None
    for provider in Provider.objects.prefetch_related("keys"):
        if not provider.enabled:
            unavailable[provider.name] = "disabled"
            continue
        config = _provider_config(provider)
        if not config.keys and not config.passthrough and config.requires_key:
            unavailable[provider.name] = "no enabled API key"
            continue
        providers[provider.name] = config
        if provider.is_default:
            default_provider = provider.name
    for result in ProviderLoadResult.objects.exclude(status=LoadStatus.SUCCESS):
        if result.provider_name not in providers:
            unavailable.setdefault(result.provider_name, result.message or result.get_status_display())
    global_aliases: dict[str, AliasConfig] = {}
    scoped_aliases: dict[tuple[str, str], AliasConfig] = {}
    pattern_aliases: list[AliasConfig] = []
    for alias in Alias.objects.select_related("provider").order_by("name", "id"):
        scope = alias.provider.name if alias.provider else None
        fallbacks = tuple(str(f) for f in alias.fallbacks or ())
        alias_config = AliasConfig(alias.name, alias.target, scope, fallbacks, alias.is_pattern)
        if alias.is_pattern:
            pattern_aliases.append(alias_config)
        elif scope is None:
            global_aliases[alias.name] = alias_config
        else:
            scoped_aliases[(scope, alias.name)] = alias_config
    return RoutingTable(
        providers=providers,
        default_provider=default_provider,
        global_aliases=global_aliases,
        scoped_aliases=scoped_aliases,
        unavailable=unavailable,
        generation=generation,
        pattern_aliases=tuple(pattern_aliases),
        gateway_keys=_gateway_keys(),
        teams_configured=Team.objects.exists(),
    )


def _build_and_release_connection() -> RoutingTable:
    """Build, then close this thread's connection: the lean data-plane handler sends no
    ``request_finished`` signal to close it (outside a test transaction only)."""
    try:
        return build_routing_table()
    finally:
        if not connection.in_atomic_block:
            connection.close()


class SnapshotHolder:
    """Per-process holder: a table, when it was last checked, one rebuild in flight."""

    def __init__(self) -> None:
        self.table: RoutingTable | None = None
        self.checked_at = 0.0
        self._locks: dict[int, asyncio.Lock] = {}

    def clear(self) -> None:
        self.table = None
        self.checked_at = 0.0

    async def get(self) -> RoutingTable:
        now = time.monotonic()
        table = self.table
        if table is not None and now - self.checked_at < settings.VANDAMME_SNAPSHOT_TTL:
            return table
        if table is not None:
            # Claimed before the await: requests arriving during the check keep using the
            # table instead of each starting a check of their own (one per TTL per process).
            self.checked_at = now
            if await config_generation_aget() == table.generation:
                return table
        async with self._lock():
            if self.table is not table and self.table is not None:
                return self.table  # another request rebuilt it while we waited
            self.table = await sync_to_async(_build_and_release_connection, thread_sensitive=True)()
            self.checked_at = time.monotonic()
            return self.table

    def _lock(self) -> asyncio.Lock:
        loop_id = id(asyncio.get_running_loop())
        lock = self._locks.get(loop_id)
        if lock is None:
            lock = self._locks[loop_id] = asyncio.Lock()
        return lock


routing_snapshot = SnapshotHolder()
