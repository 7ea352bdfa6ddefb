"""The shapes of the routing snapshot. Pure data: no Django, no I/O."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from providers.families import ApiFormat, HostedTools, ProviderFamily
from providers.groups import GroupConfig
from routing.middleware.chain import Chain

if TYPE_CHECKING:
    from pricing.costs import PriceTable


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """One usable upstream key. ``secret`` never leaves the process."""

    key_id: int
    fingerprint: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    api_format: ApiFormat
    base_url: str
    api_version: str
    timeout: float
    max_retries: int
    custom_headers: tuple[tuple[str, str], ...]
    tool_name_sanitization: bool
    passthrough: bool
    models: tuple[str, ...]
    keys: tuple[KeyConfig, ...]
    fallbacks: tuple[str, ...] = ()
    region: str = ""  # Bedrock: signing region; Vertex: location
    project: str = ""  # Vertex: Google Cloud project
    # False: serves with no key in the pool (credentials from the environment, or none).
    requires_key: bool = True
    # Bedrock/Vertex: an empty pool signs with the host's own cloud identity (opt-in).
    ambient_credentials: bool = False
    # Keys in the pool that are disabled (by an operator or after auth failures).
    disabled_keys: int = 0
    # The longest a call may take in all (None: the defaults in ``routing.upstream``).
    total_timeout: float | None = None
    # Declared on the provider (guessed once, when the row was written, if not declared):
    # quirks and Azure's URLs and header follow the family, never the name or host.
    family: ProviderFamily = ProviderFamily.COMPATIBLE
    # Speaks OpenAI's Responses API natively (the Responses door passes through to it).
    responses_api: bool = False
    # Hosted tools (web_search …) this provider cannot run: dropped or refused.
    hosted_tools: HostedTools = HostedTools.DROP
    # Middleware (routing.middleware): built-ins, global, then the provider's own; resolved
    # once. None when there is none: the hot path's whole cost is one ``is None`` test.
    middleware: Chain | None = None


@dataclass(frozen=True, slots=True)
class AliasConfig:
    name: str
    target: str
    provider: str | None
    fallbacks: tuple[str, ...] = ()
    is_pattern: bool = False
    # A model group (several targets); None for a plain alias of ``target``.
    group: GroupConfig | None = None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-minute limits of a team or a gateway key; None is no limit."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


NO_RATE_LIMITS = RateLimits()

DEFAULT_SPEND_ALERT_PERCENT = 80


@dataclass(frozen=True, slots=True)
class SpendBudget:
    """US dollars a team or a gateway key may spend per calendar period (UTC). Only priced
    calls are charged: a model with no known price costs nothing here."""

    usd: Decimal
    period: str = "month"  # day, week or month
    # The soft threshold: one log line and a metric once a period's spend reaches it.
    alert_percent: int = DEFAULT_SPEND_ALERT_PERCENT


@dataclass(frozen=True)
class TeamConfig:
    """A team as the hot path needs it. Empty allow lists mean everything."""

    name: str
    team_id: int | None = None
    allowed_providers: frozenset[str] = frozenset()
    allowed_models: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    rate_limits: RateLimits = NO_RATE_LIMITS
    token_budget: int | None = None  # input + output tokens per budget_period
    budget_period: str = "month"  # day, week or month (calendar, UTC)
    spend_budget: SpendBudget | None = None  # a budget in money, beside the token budget
    # Hosted tools the serving provider cannot run: None follows the provider's policy.
    hosted_tools: HostedTools | None = None
    # The team's own middleware, run after the provider's (routing.middleware); None: none.
    middleware: Chain | None = None


@dataclass(frozen=True, slots=True)
class GatewayKeyConfig:
    """A usable gateway key, found by the sha256 of what the client presents."""

    key_id: int
    prefix: str
    team: TeamConfig
    expires_at: float | None = None  # epoch seconds
    rate_limits: RateLimits = NO_RATE_LIMITS  # in addition to the team's
    spend_budget: SpendBudget | None = None  # in addition to the team's


@dataclass(frozen=True)
class RoutingTable:
    """Everything resolution and the proxy need; immutable once built."""

    providers: dict[str, ProviderConfig]
    default_provider: str | None
    global_aliases: dict[str, AliasConfig]
    scoped_aliases: dict[tuple[str, str], AliasConfig]
    # Providers that are known but cannot serve (disabled, no key, failed to load): why.
    unavailable: dict[str, str]
    generation: int = 0
    # Glob aliases in the order they are tried (global and scoped alike).
    pattern_aliases: tuple[AliasConfig, ...] = ()
    # Enabled keys of enabled teams, by sha256 hex of the key.
    gateway_keys: dict[str, GatewayKeyConfig] = field(default_factory=dict)
    # Any team, enabled or not: VDM_GATEWAY_MODE=auto closes the gateway then (routing.gateway_mode).
    teams_configured: bool = False
    # What calls cost (genai-prices' data and the operators' overrides); None: nothing priced.
    prices: "PriceTable | None" = None

    @property
    def all_secrets(self) -> tuple[str, ...]:
        return tuple(key.secret for provider in self.providers.values() for key in provider.keys)
