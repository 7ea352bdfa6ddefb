"""Model-name resolution: what the client asked for → provider + upstream model. Pure.

Order, for a name N sent by a client:
1. ``!N`` bypasses aliases: the ``!`` is stripped, a provider prefix still applies.
2. ``provider:model`` splits at the first colon only when the prefix names a known
   provider (case-insensitive); otherwise the colon belongs to the model id
   (``llama3:8b``) and the whole name goes to the default provider.
3. With an explicit provider, only that provider's scoped aliases apply.
4. Without one: the calling team's aliases, the default provider's scoped aliases,
   then global aliases, then
   pattern aliases (globs such as ``*sonnet*``, opt-in; the most literal pattern
   first). Patterns only ever see the client's own bare name: never a name that an
   exact alias produced, never one with an explicit provider.
5. An alias target is resolved again the same way (chains), scoped to the alias's
   provider for a scoped alias; a name seen twice is a cycle and an error.
6. What is left is a model of the chosen (or default) provider. When it still holds a
   colon after a name-like prefix (``opnai:gpt-4o``), the resolution notes that the
   prefix is no configured provider: a step says so, and a 400/404 from the provider
   carries the note (a typo would otherwise read as an unknown model).

Fallbacks: the first alias on the chain that names fallbacks supplies them, then the
serving provider's own (a bare provider name there means the same model on it).

Groups: an alias with several targets asks ``chooser`` (this process's router: its
breakers, counters and affinity pins; ``static_choice`` when none is given) for an
order; the first target is resolved on as the alias's target would be, and the other
targets come first among the fallbacks. A plain alias never reaches that code.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import NamedTuple, Protocol

from providers.groups import GroupConfig
from routing.errors import GatewayError
from routing.groups.strategies import GroupChoice, static_choice
from routing.table import AliasConfig, ProviderConfig, RoutingTable

BYPASS_PREFIX = "!"
MAX_ALIAS_DEPTH = 16
# A prefix that could be a provider's name (what the loaders accept as one).
PROVIDER_LIKE_PREFIX = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Resolution:
    requested: str
    provider: ProviderConfig
    upstream_model: str
    steps: tuple[str, ...] = field(default=())
    fallbacks: tuple[str, ...] = field(default=())
    # "'opnai' is not a configured provider …" when the model id kept such a prefix.
    prefix_note: str = ""

    @property
    def group(self) -> GroupChoice | None:
        """A model group on the chain: what it chose (its other targets lead the fallbacks)."""
        return None


@dataclass(frozen=True)
class GroupResolution(Resolution):
    """A resolution through a model group. A subclass, so that a plain one costs no extra
    field (a frozen dataclass pays an ``object.__setattr__`` per field, per request)."""

    choice: GroupChoice | None = None

    @property
    def group(self) -> GroupChoice | None:
        return self.choice


class ConversationSource(Protocol):
    def affinity_key(self) -> str | None: ...


class GroupChooser(Protocol):
    def choose(self, group: GroupConfig, source: ConversationSource | None = None) -> GroupChoice: ...


class ResolutionError(GatewayError):
    """A model name that cannot be routed (400 in the client's dialect)."""


def _configured_list(table: RoutingTable) -> str:
    names = sorted(table.providers)
    return ", ".join(names) if names else "none"


def _split_provider(name: str, table: RoutingTable) -> tuple[str | None, str]:
    prefix, colon, rest = name.partition(":")
    if not colon:
        return None, name
    provider = prefix.strip().lower()
    if not rest.strip():
        if provider in table.providers:
            raise ResolutionError(400, f"model: '{name}' names provider '{provider}' but no model")
        return None, name
    if provider in table.providers:
        return provider, rest
    if provider in table.unavailable:
        raise ResolutionError(
            400,
            f"provider '{provider}' is not available ({table.unavailable[provider]}); "
            f"configured providers: {_configured_list(table)}",
        )
    return None, name


def _provider(name: str | None, table: RoutingTable, requested: str) -> ProviderConfig:
    if name is None:
        raise ResolutionError(
            400,
            f"model '{requested}' names no provider and no default provider is configured; "
            f"use 'provider:model' with one of: {_configured_list(table)}",
        )
    provider = table.providers.get(name)
    if provider is None:
        reason = table.unavailable.get(name, "not configured")
        raise ResolutionError(
            400,
            f"provider '{name}' is not available ({reason}); configured providers: {_configured_list(table)}",
        )
    return provider


def resolve_model(
    requested: str,
    table: RoutingTable,
    team_aliases: Mapping[str, str] | None = None,
    chooser: GroupChooser | None = None,
    conversation: ConversationSource | None = None,
) -> Resolution:
    """Resolve ``requested`` against ``table``; raises ResolutionError (400), or a 503
    when every target of a group is unavailable (circuit breakers open)."""
    name = requested.strip()
    if not name:
        raise ResolutionError(400, "model: must be a non-empty string")
    if name.startswith(BYPASS_PREFIX):
        provider_name, model = _split_provider(name[len(BYPASS_PREFIX) :].strip(), table)
        if not model:
            raise ResolutionError(400, f"model: '{requested}' names no model after the alias bypass '!'")
        provider = _provider(provider_name or table.default_provider, table, requested)
        note = "" if provider_name else _unconfigured_prefix_note(model, table)
        steps = (
            f"'{name}': alias bypass → {provider.name}:{model}",
            *([f"'{model}': {note}"] if note else []),
        )
        return Resolution(requested, provider, model, steps, prefix_note=note)
    return _resolve(name, requested, table, team_aliases or {}, chooser, conversation)


def _resolve(
    name: str,
    requested: str,
    table: RoutingTable,
    team_aliases: Mapping[str, str],
    chooser: GroupChooser | None = None,
    conversation: ConversationSource | None = None,
) -> Resolution:
    steps: list[str] = []
    seen: set[tuple[str | None, str]] = set()
    scope: str | None = None
    fallbacks: tuple[str, ...] = ()
    group: GroupChoice | None = None
    while True:
        provider_name, model = _split_provider(name, table)
        if provider_name is not None:
            steps.append(f"'{name}': provider prefix → provider {provider_name}, model '{model}'")
            scope = provider_name
        key = (scope, model.lower())
        if key in seen or len(seen) >= MAX_ALIAS_DEPTH:
            chain = " → ".join(steps)
            raise ResolutionError(400, f"alias cycle while resolving model '{requested}': {chain}")
        seen.add(key)
        alias = _find_alias(model, scope, table, team_aliases)
        if alias is None and not steps and scope is None:
            alias = _find_pattern(model, table)
        if alias is None:
            provider = _provider(scope or table.default_provider, table, requested)
            note = _unconfigured_prefix_note(model, table) if scope is None else ""
            if note:
                steps.append(f"'{model}': {note}")
            if scope is None:
                steps.append(f"'{model}': no alias → default provider {provider.name}")
            fallbacks += _provider_fallbacks(provider, model)
            if group is not None:
                return GroupResolution(requested, provider, model, tuple(steps), fallbacks, note, group)
            return Resolution(requested, provider, model, tuple(steps), fallbacks, note)
        if alias.group is not None:
            choice = _choose(alias.group, chooser, conversation)
            group = group or choice
            steps.append(f"'{model}': {alias.description}, {_choice_text(choice)}")
            members = tuple(deployment.target for deployment in choice.order[1:])
            fallbacks = fallbacks or (members + alias.fallbacks)
            name, scope = choice.order[0].target, alias.provider
            continue
        steps.append(f"'{model}': {alias.description} → '{alias.target}'")
        fallbacks = fallbacks or alias.fallbacks
        name, scope = alias.target, alias.provider


def _choose(
    group: GroupConfig, chooser: GroupChooser | None, conversation: ConversationSource | None
) -> GroupChoice:
    choice = chooser.choose(group, conversation) if chooser is not None else static_choice(group)
    if not choice.order:
        wait = max(1, round(choice.retry_after))
        raise GatewayError(
            503,
            f"every target of model group '{group.name}' is unavailable (circuit breakers open "
            f"after failures); retry in {wait} s",
            {"retry-after": str(wait)},
            error_type="api_error",
        )
    return choice


def _choice_text(choice: GroupChoice) -> str:
    group, chosen = choice.group, choice.order[0]
    why = "the conversation's target" if choice.pinned else f"tier {chosen.tier}"
    return (
        f"group of {len(group.deployments)} targets ({group.strategy}) → '{chosen.target}' ({why}; "
        f"{len(choice.order)} available)"
    )


def _unconfigured_prefix_note(model: str, table: RoutingTable) -> str:
    """For ``opnai:gpt-4o`` sent to the default provider: say the prefix is no provider."""
    prefix, colon, _ = model.partition(":")
    prefix = prefix.strip().lower()
    if not colon or not PROVIDER_LIKE_PREFIX.match(prefix):
        return ""
    return (
        f"'{prefix}' is not a configured provider (configured: {_configured_list(table)}), "
        "so the colon stays in the model id"
    )


def _provider_fallbacks(provider: ProviderConfig, model: str) -> tuple[str, ...]:
    return tuple(entry if ":" in entry else f"{entry}:{model}" for entry in provider.fallbacks)


def _find_alias(
    model: str, scope: str | None, table: RoutingTable, team_aliases: Mapping[str, str]
) -> "AliasLookup | None":
    lowered = model.lower()
    if scope is None and lowered in team_aliases:
        return AliasLookup(team_aliases[lowered], None, (), "team alias")
    provider = scope or table.default_provider
    if provider is not None:
        scoped = table.scoped_aliases.get((provider, lowered))
        if scoped is not None:
            return AliasLookup(
                scoped.target,
                scoped.provider,
                scoped.fallbacks,
                f"alias of provider {provider}",
                scoped.group,
            )
    if scope is None:
        global_alias = table.global_aliases.get(lowered)
        if global_alias is not None:
            return AliasLookup(
                global_alias.target, None, global_alias.fallbacks, "global alias", global_alias.group
            )
    return None


def _pattern_specificity(pattern: AliasConfig) -> tuple[int, str]:
    literal = sum(1 for char in pattern.name if char not in "*?[]")
    return (-literal, pattern.name)


def _find_pattern(model: str, table: RoutingTable) -> "AliasLookup | None":
    lowered = model.lower()
    for pattern in sorted(table.pattern_aliases, key=_pattern_specificity):
        if fnmatchcase(lowered, pattern.name):
            return AliasLookup(pattern.target, None, pattern.fallbacks, f"pattern alias '{pattern.name}'")
    return None


class AliasLookup(NamedTuple):
    """An alias found for a name (a tuple: made on every aliased request, and a frozen
    dataclass's ``__init__`` costs a ``object.__setattr__`` per field)."""

    target: str
    provider: str | None
    fallbacks: tuple[str, ...]
    description: str
    group: GroupConfig | None = None
