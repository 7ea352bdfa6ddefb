"""The routing snapshot: all configuration the hot path needs, held in process memory.

Built from the database in one synchronous call (a handful of queries, secrets
decrypted once) and replaced whole. A watcher task per event loop checks the
configuration generation every half ``VANDAMME_SNAPSHOT_TTL`` (Redis's copy, else the
database row); only a changed generation rebuilds. No request is served a table that
was not confirmed current within the TTL (see ``SnapshotHolder``).
"""

import asyncio
import contextlib
import contextvars
import logging
import time
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.views.decorators.debug import sensitive_variables

from aliases.models import Alias
from pricing.selectors import price_table_build
from providers.crypto import decrypt_secret
from providers.endpoints import can_run_without_keys, region_from_base_url, service_account_project
from providers.families import ApiFormat, HostedTools, ProviderFamily
from providers.generation import (
    RedisUnavailable,
    config_generation_db_aget,
    config_generation_get,
    config_generation_redis_aget,
    config_generation_redis_repair,
)
from providers.groups import GroupConfig, GroupConfigError, parse_deployments, parse_strategy
from providers.headers import headers_open
from providers.models import LoadStatus, Provider, ProviderLoadResult
from routing.middleware.builtins import builtin_specs
from routing.middleware.chain import build_chain, specs_from
from routing.snapshot_watch import start_watcher
from routing.table import (
    DEFAULT_SPEND_ALERT_PERCENT,
    AliasConfig,
    GatewayKeyConfig,
    KeyConfig,
    ProviderConfig,
    RateLimits,
    RoutingTable,
    SpendBudget,
    TeamConfig,
)
from teams.gateway_mode import configured_mode, mode_change_message
from teams.models import Team

logger = logging.getLogger(__name__)

# How long a request waits for a due check whose generation read hangs (a database stall
# with no Redis to ask) before it is served the table it has; nothing can be committed to
# a stalled database. A check that failed serves it at once; a rebuild is always awaited.
CHECK_WAIT_SECONDS = 5.0


@sensitive_variables("secret", "first_secret")
def _provider_config(provider: Provider) -> ProviderConfig:
    rows = provider.keys.all()
    keys = tuple(
        KeyConfig(key.pk, key.fingerprint, decrypt_secret(key.ciphertext)) for key in rows if key.enabled
    )
    base_url = provider.resolved_base_url
    first_secret = keys[0].secret if keys else ""
    return ProviderConfig(
        name=provider.name,
        api_format=ApiFormat(provider.api_format),
        family=ProviderFamily(provider.family),
        responses_api=bool(provider.responses_api),
        hosted_tools=HostedTools(provider.hosted_tools),
        base_url=base_url,
        api_version=provider.api_version,
        timeout=provider.timeout,
        max_retries=provider.max_retries,
        total_timeout=provider.total_timeout,
        # The one place header values are opened to be sent (providers.headers).
        custom_headers=tuple(headers_open(provider.sealed_headers or {}).items()),
        tool_name_sanitization=provider.tool_name_sanitization,
        passthrough=provider.passthrough,
        models=tuple(str(m) for m in provider.models_list or ()),
        keys=keys,
        fallbacks=tuple(str(f) for f in provider.fallbacks or ()),
        region=provider.region or region_from_base_url(provider.api_format, base_url),
        project=provider.project or service_account_project(first_secret),
        requires_key=not can_run_without_keys(
            provider.api_format, provider.requires_key, provider.ambient_credentials
        ),
        ambient_credentials=provider.ambient_credentials,
        disabled_keys=len(rows) - len(keys),
        middleware=build_chain(  # None when empty
            (
                *builtin_specs(provider.family, tool_name_sanitization=provider.tool_name_sanitization),
                *specs_from(provider.middleware or [], f"provider:{provider.name}"),
            )
        ),
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
            spend_budget=_spend_budget(
                team.spend_budget_usd, team.spend_budget_period, team.spend_alert_percent
            ),
            hosted_tools=HostedTools(team.hosted_tools) if team.hosted_tools else None,
            middleware=build_chain(specs_from(team.middleware or [], f"team:{team.name}")),
        )
        for key in team.keys.all():
            if key.enabled:
                expires = key.expires_at.timestamp() if key.expires_at else None
                key_limits = RateLimits(key.requests_per_minute, key.tokens_per_minute)
                spend = _spend_budget(key.spend_budget_usd, key.spend_budget_period)
                keys[key.key_hash] = GatewayKeyConfig(key.pk, key.prefix, config, expires, key_limits, spend)
    return keys


def _spend_budget(
    usd: Decimal | None, period: str, alert_percent: int = DEFAULT_SPEND_ALERT_PERCENT
) -> SpendBudget | None:
    return None if usd is None else SpendBudget(usd, period, alert_percent)


def _group_config(alias: Alias) -> GroupConfig | None:
    """The alias's group; a row that no longer parses (edited around the checks) serves
    as a plain alias of its first target, and says so in the log."""
    if not alias.targets or alias.is_pattern:
        return None
    try:
        deployments = parse_deployments(alias.targets)
        return GroupConfig(alias.name, parse_strategy(alias.strategy), deployments)
    except GroupConfigError as error:
        logger.warning("group %s serves as a plain alias of %s: %s", alias.name, alias.target, error)
        return None


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
        if not config.keys and not config.passthrough and config.requires_key and not config.disabled_keys:
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
        group = _group_config(alias)
        alias_config = AliasConfig(alias.name, alias.target, scope, fallbacks, alias.is_pattern, group)
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
        prices=price_table_build(),
    )


def _build_and_release_connection() -> RoutingTable:
    """Build, then close this thread's connection: the lean data-plane handler sends no
    ``request_finished`` signal to close it (outside a test transaction only)."""
    try:
        return build_routing_table()
    finally:
        if not connection.in_atomic_block:
            connection.close()


def _log_mode_change(before: RoutingTable | None, after: RoutingTable) -> None:
    """Say so when a configuration change opens or closes the gateway (the first team
    closes an ``auto`` gateway: clients without a key get 401 from now on)."""
    if before is None:
        return
    before_mode = configured_mode(teams_exist=before.teams_configured)
    message = mode_change_message(before_mode, configured_mode(teams_exist=after.teams_configured))
    if message:
        logger.warning(message)


class SnapshotHolder:
    """Per process: the table, when it was last confirmed current, the checks per event loop.

    ``confirmed_at`` is when the last successful check *started*: a request is served
    from the table only while ``now - confirmed_at`` is under ``VANDAMME_SNAPSHOT_TTL``,
    so what it sees was current less than a TTL ago, busy or idle. A watcher task per
    event loop checks every half TTL, so requests normally find the table confirmed;
    when one finds the check due, it waits for it (one check in flight per loop) rather
    than serving the old table. Only if the generation cannot be read (the database
    fails or stalls, with no Redis to ask) does it serve the table it has, at once or
    after ``CHECK_WAIT_SECONDS``: nothing newer can be committed to that database.
    """

    def __init__(self) -> None:
        self.table: RoutingTable | None = None
        self.confirmed_at = 0.0
        self.database_ok: bool | None = None  # None: not checked yet
        self._checks: dict[int, tuple[float, asyncio.Task[None]]] = {}
        self._watchers: dict[int, list[asyncio.Task[None]]] = {}
        self._db_disagrees = False
        self._rebuilding: set[int] = set()
        self._last_failure = ""
        self._failed_at = 0.0

    @property
    def checked_at(self) -> float:
        return self.confirmed_at

    def clear(self) -> None:
        for tasks in self._watchers.values():
            for task in tasks:
                if not task.get_loop().is_closed():
                    task.cancel()
        self._watchers.clear()
        self._checks.clear()
        self.table = None
        self.confirmed_at = 0.0
        self.database_ok = None
        self._db_disagrees = False
        self._failed_at = 0.0

    async def get(self) -> RoutingTable:
        table = self.table
        if table is not None and time.monotonic() - self.confirmed_at < settings.VANDAMME_SNAPSHOT_TTL:
            return table
        start_watcher(self)
        if table is not None and time.monotonic() - self._failed_at < settings.VANDAMME_SNAPSHOT_TTL / 2:
            return table  # the last check failed just now: the watcher retries, requests need not
        started, check = self._check_in_flight()
        if table is None:
            await asyncio.shield(check)
            assert self.table is not None  # noqa: S101  (a check that returns has built one)
            return self.table
        wait = max(0.0, CHECK_WAIT_SECONDS - (time.monotonic() - started))
        with contextlib.suppress(Exception):  # a failed check logs itself; the table stands
            try:
                await asyncio.wait_for(asyncio.shield(check), wait)
            except TimeoutError:
                if id(asyncio.get_running_loop()) in self._rebuilding:
                    await asyncio.shield(check)  # a change is known: never serve the old table
        return self.table or table

    def _check_in_flight(self) -> tuple[float, "asyncio.Task[None]"]:
        """The running check of this loop, or a new one (in a clean context: it outlives
        the request that starts it, and must not use that request's sync thread)."""
        loop = asyncio.get_running_loop()
        held = self._checks.get(id(loop))
        if held is not None and held[1].get_loop() is loop and not held[1].done():
            return held
        task = loop.create_task(self._check(), context=contextvars.Context())
        task.add_done_callback(self._log_failure)
        self._checks[id(loop)] = held = (time.monotonic(), task)
        return held

    async def check(self) -> None:
        """Check now (or join the check in flight); raises what the check raised."""
        await asyncio.shield(self._check_in_flight()[1])

    async def _check(self) -> None:
        started = time.monotonic()
        table = self.table
        generation = await self._current_generation(table)
        if table is None or generation != table.generation:
            loop_id = id(asyncio.get_running_loop())
            self._rebuilding.add(loop_id)
            try:
                self.table = await sync_to_async(_build_and_release_connection, thread_sensitive=True)()
            finally:
                self._rebuilding.discard(loop_id)
            _log_mode_change(table, self.table)
        self.confirmed_at = started

    async def _current_generation(self, table: RoutingTable | None) -> int:
        """Redis's copy when it matches the table; else the database's row (and Redis is
        told, so the other processes need not read the row too)."""
        copy: int | None = None
        if table is not None and not self._db_disagrees:
            try:
                copy = await config_generation_redis_aget()
            except RedisUnavailable:
                copy = None
            else:
                if copy == table.generation:
                    return copy
        generation = await self._db_generation()
        self._db_disagrees = False
        if copy != generation:
            await config_generation_redis_repair(generation)
        return generation

    async def _db_generation(self) -> int:
        try:
            generation = await config_generation_db_aget()
        except Exception:
            self.database_ok = False
            raise
        self.database_ok = True
        return generation

    async def verify_with_database(self) -> None:
        """The row is the truth: if it differs from the table's generation, check now
        without trusting Redis's copy."""
        table = self.table
        if table is None:
            return
        if await self._db_generation() != table.generation and self.table is table:
            self._db_disagrees = True
            await self.check()

    def _log_failure(self, task: "asyncio.Task[None]") -> None:
        """Once per kind of failure in a row, not once per check (two a second)."""
        failure = "" if task.cancelled() or task.exception() is None else type(task.exception()).__name__
        if failure and failure != self._last_failure:
            logger.warning(
                "configuration check failed (%s): serving the routing snapshot built before, "
                "until the check succeeds",
                failure,
            )
        elif not failure and self._last_failure and not task.cancelled():
            logger.warning("configuration check succeeds again")
        if not task.cancelled():
            self._last_failure = failure
            if failure:
                self._failed_at = time.monotonic()


routing_snapshot = SnapshotHolder()
