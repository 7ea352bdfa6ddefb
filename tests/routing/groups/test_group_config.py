"""Group configuration: TOML, the environment, and the checks on bad groups (pure)."""

import pytest

from providers.groups import (
    Deployment,
    GroupConfigError,
    find_cycle,
    parse_deployments,
    parse_env_group,
    target_problems,
)
from providers.loaders import build_config

TOML = """
[defaults.aliases]
claude = { strategy = "least-busy", targets = [
  { target = "anthropic:claude-sonnet-4", weight = 3 },
  { target = "bedrock:anthropic.claude-sonnet-4", weight = 1, tier = 2, rpm = 600 },
] }
gpt = ["azure-east:gpt-4o", "azure-west:gpt-4o"]
plain = "openai:gpt-4o"
broken = { targets = [ { target = "a:x", weight = 0 } ] }
empty = []
"""


def test_toml_groups_load_and_bad_ones_are_reported_while_the_rest_loads() -> None:
    spec = build_config(environ={}, toml_layers=[(TOML, "vandamme.toml")])
    aliases = {alias.name: alias for alias in spec.aliases}
    claude = aliases["claude"]
    assert claude.strategy == "least-busy"
    assert claude.target == "anthropic:claude-sonnet-4"  # a group's target is its first
    assert claude.targets == (
        Deployment("anthropic:claude-sonnet-4", 3.0),
        Deployment("bedrock:anthropic.claude-sonnet-4", 1.0, tier=2, rpm=600),
    )
    assert [d.target for d in aliases["gpt"].targets] == ["azure-east:gpt-4o", "azure-west:gpt-4o"]
    assert aliases["plain"].targets == ()
    assert "broken" not in aliases
    assert "empty" not in aliases
    assert any("group 'broken'" in e and "weight must be a positive number" in e for e in spec.errors)
    assert any("group 'empty'" in e and "empty group" in e for e in spec.errors)


def test_env_groups_with_options_and_a_strategy_variable() -> None:
    environ = {
        "VDM_ALIAS_CLAUDE": "anthropic:claude-sonnet-4;weight=3, vertex:claude-sonnet-4@20250514;tier=2",
        "VDM_GROUP_STRATEGY_CLAUDE": "lowest-latency",
        "VDM_ALIAS_SOLO": "vertex:claude-sonnet-4@20250514",
        "VDM_ALIAS_BAD": "a:x;weight=-1, b:y",
    }
    spec = build_config(environ=environ, toml_layers=[])
    aliases = {alias.name: alias for alias in spec.aliases}
    assert aliases["claude"].strategy == "lowest-latency"
    assert aliases["claude"].targets[1] == Deployment("vertex:claude-sonnet-4@20250514", tier=2)
    assert aliases["solo"].targets == ()  # one target, no options: a plain alias
    assert "bad" not in aliases
    assert any(e.startswith("VDM_ALIAS_BAD: group 'bad'") for e in spec.errors)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "empty group"),
        ([{"target": "a:x", "weight": "heavy"}], "weight must be a positive number"),
        ([{"target": "a:x", "weight": float("nan")}], "weight must be a positive number"),
        ([{"target": "a:x", "weight": True}], "weight must be a positive number"),
        ([{"target": "a:x", "tier": 0}], "tier must be a whole number"),
        ([{"target": "a:x", "colour": "red"}], "unknown field(s) colour"),
        ([{"weight": 2}], "'target' must be a non-empty string"),
        ("a:x", "must be a list"),
    ],
)
def test_bad_deployments_say_what_to_fix(raw: object, message: str) -> None:
    with pytest.raises(GroupConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_deployments(raw)


def test_env_option_without_equals_is_an_error() -> None:
    with pytest.raises(GroupConfigError, match="must be key=value"):
        parse_env_group("a:x;heavy, b:y")


def test_unknown_targets_and_cycles_are_found() -> None:
    deployments = parse_deployments(["openai:gpt-4o", "nowhere:gpt-4o", "other-group", "gpt-4o"])
    problems = target_problems(deployments, {"openai"}.__contains__, {"other-group"}.__contains__)
    assert len(problems) == 2
    assert "'nowhere:gpt-4o'" in problems[0]
    assert "'gpt-4o'" in problems[1]
    edges = {"a": ["b", "openai:x"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert find_cycle("a", edges) == ["a", "b", "c", "a"]
    assert find_cycle("d", edges) is None  # d reaches a cycle but is not on it
