"""Every model-name resolution rule, including the cases that break other gateways."""

import pytest

from routing.resolution import ResolutionError, resolve_model
from routing.table import AliasConfig, KeyConfig, ProviderConfig, RoutingTable


def provider(name: str, *, fallbacks: tuple[str, ...] = ()) -> ProviderConfig:
    return ProviderConfig(
        name=name,
        api_format="openai",
        base_url=f"https://{name}.example/v1",
        api_version="",
        timeout=30,
        max_retries=0,
        custom_headers=(),
        tool_name_sanitization=False,
        passthrough=False,
        models=(),
        keys=(KeyConfig(1, "fp", "secret"),),
        fallbacks=fallbacks,
    )


def table(
    *,
    global_aliases: dict[str, str] | None = None,
    scoped: dict[tuple[str, str], str] | None = None,
    patterns: dict[str, str] | None = None,
    default: str | None = "openai",
    fallbacks: dict[str, tuple[str, ...]] | None = None,
    provider_fallbacks: dict[str, tuple[str, ...]] | None = None,
) -> RoutingTable:
    names = ("openai", "anthropic", "openrouter", "ollama")
    fallbacks = fallbacks or {}
    return RoutingTable(
        providers={n: provider(n, fallbacks=(provider_fallbacks or {}).get(n, ())) for n in names},
        default_provider=default,
        global_aliases={
            n: AliasConfig(n, t, None, fallbacks.get(n, ())) for n, t in (global_aliases or {}).items()
        },
        scoped_aliases={(p, n): AliasConfig(n, t, p) for (p, n), t in (scoped or {}).items()},
        unavailable={"poe": "no enabled API key", "azure": "disabled"},
        pattern_aliases=tuple(AliasConfig(n, t, None, (), True) for n, t in (patterns or {}).items()),
    )


@pytest.mark.parametrize(
    ("name", "provider_name", "model"),
    [
        ("gpt-4o", "openai", "gpt-4o"),  # bare name → default provider
        ("openai:gpt-4o", "openai", "gpt-4o"),
        ("OpenAI:gpt-4o", "openai", "gpt-4o"),  # the prefix is case-insensitive
        ("ollama:llama3:8b", "ollama", "llama3:8b"),  # split at the first colon only
        ("llama3:8b", "openai", "llama3:8b"),  # unknown prefix: the colon belongs to the id
        (
            "openrouter:anthropic/claude-3.7-sonnet:thinking",
            "openrouter",
            "anthropic/claude-3.7-sonnet:thinking",
        ),
        ("anthropic/claude-3.7-sonnet:thinking", "openai", "anthropic/claude-3.7-sonnet:thinking"),
        ("  gpt-4o  ", "openai", "gpt-4o"),
    ],
)
def test_provider_prefix_and_colons(name: str, provider_name: str, model: str) -> None:
    resolution = resolve_model(name, table())
    assert (resolution.provider.name, resolution.upstream_model) == (provider_name, model)


def test_global_alias_exact_and_case_insensitive() -> None:
    t = table(global_aliases={"fast": "openai:gpt-4o-mini"})
    assert resolve_model("FAST", t).upstream_model == "gpt-4o-mini"


def test_an_id_containing_an_alias_name_is_not_rewritten() -> None:
    t = table(
        global_aliases={"sonnet": "openrouter:anthropic/claude-sonnet-4", "haiku": "openai:gpt-4o-mini"}
    )
    resolution = resolve_model("claude-sonnet-4-5-20250929", t)
    assert (resolution.provider.name, resolution.upstream_model) == ("openai", "claude-sonnet-4-5-20250929")
    assert resolve_model("claude-3-5-haiku-latest", t).upstream_model == "claude-3-5-haiku-latest"


def test_scoped_alias_applies_to_its_provider_only() -> None:
    t = table(scoped={("anthropic", "haiku"): "claude-haiku-4-5", ("openai", "haiku"): "gpt-4o-mini"})
    assert resolve_model("anthropic:haiku", t).upstream_model == "claude-haiku-4-5"
    assert resolve_model("openai:haiku", t).upstream_model == "gpt-4o-mini"
    assert resolve_model("haiku", t).upstream_model == "gpt-4o-mini"  # via the default provider
    assert resolve_model("openrouter:haiku", t).upstream_model == "haiku"  # no alias there


def test_scoped_alias_beats_global_for_the_default_provider() -> None:
    t = table(
        global_aliases={"fast": "anthropic:claude-haiku-4-5"}, scoped={("openai", "fast"): "gpt-4o-mini"}
    )
    assert resolve_model("fast", t).provider.name == "openai"


def test_explicit_provider_ignores_global_aliases() -> None:
    t = table(global_aliases={"gpt-4o": "anthropic:claude-sonnet-4-5"})
    assert resolve_model("openai:gpt-4o", t).provider.name == "openai"
    assert resolve_model("gpt-4o", t).provider.name == "anthropic"


def test_cross_provider_alias_and_chains() -> None:
    t = table(
        global_aliases={"best": "smart", "smart": "anthropic:opus"},
        scoped={("anthropic", "opus"): "claude-opus-4-1"},
    )
    resolution = resolve_model("best", t)
    assert (resolution.provider.name, resolution.upstream_model) == ("anthropic", "claude-opus-4-1")
    assert len(resolution.steps) == 4  # best → smart → anthropic:opus → opus alias


@pytest.mark.parametrize(
    "aliases",
    [
        {"a": "b", "b": "a"},
        {"loop": "openai:loop"},
        {"x": "y", "y": "z", "z": "x"},
    ],
)
def test_cycles_are_a_clear_error(aliases: dict[str, str]) -> None:
    t = table(global_aliases=aliases, scoped={("openai", "loop"): "loop"})
    with pytest.raises(ResolutionError) as caught:
        resolve_model(next(iter(aliases)), t)
    assert caught.value.status == 400
    assert "cycle" in caught.value.message


def test_bypass_escape_skips_aliases_and_is_stripped() -> None:
    t = table(global_aliases={"gpt-4o": "anthropic:claude"}, patterns={"*gpt*": "anthropic:claude"})
    bypass = resolve_model("!gpt-4o", t)
    assert (bypass.provider.name, bypass.upstream_model) == ("openai", "gpt-4o")
    prefixed = resolve_model("!ollama:gpt-4o", t)
    assert (prefixed.provider.name, prefixed.upstream_model) == ("ollama", "gpt-4o")


def test_pattern_aliases_only_see_the_clients_bare_name() -> None:
    t = table(
        global_aliases={"fast": "openai:claude-haiku-x"},
        patterns={
            "claude-sonnet-*": "openai:gpt-5",
            "*haiku*": "openai:gpt-4o-mini",
            "*": "ollama:catch-all",
        },
    )
    assert (
        resolve_model("claude-sonnet-4-5-20250929", t).upstream_model == "gpt-5"
    )  # most literal pattern first
    assert resolve_model("claude-haiku-4-5", t).upstream_model == "gpt-4o-mini"
    assert resolve_model("fast", t).upstream_model == "claude-haiku-x"  # an exact alias decided: no pattern
    assert resolve_model("anthropic:claude-sonnet-4-5", t).provider.name == "anthropic"  # explicit provider
    assert resolve_model("whatever", t).provider.name == "ollama"


def test_unavailable_provider_prefix_names_the_configured_ones() -> None:
    with pytest.raises(ResolutionError) as caught:
        resolve_model("poe:some-bot", table())
    message = caught.value.message
    assert "poe" in message
    assert "no enabled API key" in message
    assert "anthropic, ollama, openai, openrouter" in message


def test_alias_to_an_unavailable_provider_is_a_400() -> None:
    with pytest.raises(ResolutionError, match="azure"):
        resolve_model("cheap", table(global_aliases={"cheap": "azure:gpt-4o"}))


def test_no_default_provider() -> None:
    with pytest.raises(ResolutionError, match="no default provider"):
        resolve_model("gpt-4o", table(default=None))
    assert resolve_model("openai:gpt-4o", table(default=None)).provider.name == "openai"


@pytest.mark.parametrize("name", ["   ", "!", "! ", "!openai:"])
def test_empty_names_are_a_400(name: str) -> None:
    with pytest.raises(ResolutionError, match="model"):
        resolve_model(name, table())


def test_fallbacks_from_the_alias_then_the_provider() -> None:
    t = table(
        global_aliases={"fast": "openai:gpt-4o-mini"},
        fallbacks={"fast": ("anthropic:claude-haiku-4-5",)},
        provider_fallbacks={"openai": ("openrouter", "ollama:llama3")},
    )
    assert resolve_model("fast", t).fallbacks == (
        "anthropic:claude-haiku-4-5",
        "openrouter:gpt-4o-mini",
        "ollama:llama3",
    )
    assert resolve_model("gpt-4o", t).fallbacks == ("openrouter:gpt-4o", "ollama:llama3")


@pytest.mark.parametrize("name", ["opnai:gpt-4o", "!opnai:gpt-4o", "typo-alias"])
def test_an_unconfigured_prefix_is_noted_in_the_steps(name: str) -> None:
    resolution = resolve_model(name, table(global_aliases={"typo-alias": "opnai:gpt-4o"}))
    assert (resolution.provider.name, resolution.upstream_model) == ("openai", "opnai:gpt-4o")  # kept
    assert "'opnai' is not a configured provider" in resolution.prefix_note
    assert "anthropic, ollama, openai, openrouter" in resolution.prefix_note
    assert any(resolution.prefix_note in step for step in resolution.steps)


@pytest.mark.parametrize(
    "name", ["gpt-4o", "openai:gpt-4o", "anthropic/claude-3.7-sonnet:thinking", "3.5:turbo"]
)
def test_names_without_a_provider_like_prefix_get_no_note(name: str) -> None:
    assert resolve_model(name, table()).prefix_note == ""
