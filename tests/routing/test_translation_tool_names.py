"""Tool-name sanitization: valid, unique, deterministic, reversible."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing.translation import ToolNameMap, build_tool_name_map, sanitize_tool_name

# OpenAI's rule, and Gemini's: the first character is a letter or an underscore.
VALID = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")


def test_without_sanitization_the_map_is_identity() -> None:
    names = build_tool_name_map([{"name": "mcp__srv__do.thing"}, {"name": "Bash"}], sanitize=False)
    assert names.to_upstream("mcp__srv__do.thing") == "mcp__srv__do.thing"
    assert names.to_client("anything") == "anything"
    assert names == ToolNameMap()


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Bash", "Bash"),
        ("mcp__srv__do.thing", "mcp__srv__do_thing"),
        ("weird name/with:chars", "weird_name_with_chars"),
        ("", "tool"),
        ("1password.lookup", "_1password_lookup"),
        ("-dash", "_-dash"),
        ("é", "_"),
    ],
)
def test_invalid_characters_become_underscores(original: str, expected: str) -> None:
    assert sanitize_tool_name(original) == expected


def test_long_names_are_shortened_with_a_hash_suffix() -> None:
    long_name = "x" * 100
    sanitized = build_tool_name_map([{"name": long_name}], sanitize=True).to_upstream(long_name)
    assert VALID.match(sanitized)
    assert sanitized.startswith("x" * 55 + "_")


def test_collisions_get_distinct_names_and_valid_names_keep_theirs() -> None:
    tools = [{"name": "a.b"}, {"name": "a_b"}, {"name": "a:b"}]
    names = build_tool_name_map(tools, sanitize=True)
    assert names.to_upstream("a_b") == "a_b"
    upstream = {names.to_upstream(tool["name"]) for tool in tools}
    assert len(upstream) == 3
    for tool in tools:
        assert names.to_client(names.to_upstream(tool["name"])) == tool["name"]


def test_mapping_does_not_depend_on_tool_order() -> None:
    tools = [{"name": "a.b"}, {"name": "a:b"}, {"name": "a b"}]
    forward = build_tool_name_map(tools, sanitize=True)
    backward = build_tool_name_map(list(reversed(tools)), sanitize=True)
    assert [forward.to_upstream(t["name"]) for t in tools] == [backward.to_upstream(t["name"]) for t in tools]


def test_undeclared_invalid_names_are_still_cleaned_going_up() -> None:
    names = build_tool_name_map([{"name": "Bash"}], sanitize=True)
    assert VALID.match(names.to_upstream("old.tool"))
    assert names.to_upstream("Read") == "Read"


@pytest.mark.parametrize("tools", [None, "tools", 3, [1, None, {"name": 5}, {"no": "name"}], {"name": "x"}])
def test_garbage_tools_give_an_empty_map(tools: object) -> None:
    names = build_tool_name_map(tools, sanitize=True)
    assert dict(names.original_to_sanitized) == {}


def test_the_map_is_hashable_and_frozen() -> None:
    names = build_tool_name_map([{"name": "a.b"}], sanitize=True)
    assert hash(names) == hash(build_tool_name_map([{"name": "a.b"}], sanitize=True))
    with pytest.raises(AttributeError):
        names.sanitize = False


@given(st.lists(st.text(max_size=90), max_size=12))
def test_any_names_map_to_unique_valid_reversible_names(raw_names: list[str]) -> None:
    names = build_tool_name_map([{"name": name} for name in raw_names], sanitize=True)
    upstream = [names.to_upstream(name) for name in dict.fromkeys(raw_names)]
    assert all(VALID.match(name) for name in upstream)
    assert len(set(upstream)) == len(upstream)
    for name in raw_names:
        assert names.to_client(names.to_upstream(name)) == name


def test_names_starting_with_a_digit_are_renamed_and_restored() -> None:
    names = build_tool_name_map([{"name": "7zip"}, {"name": "_private"}], sanitize=True)
    assert names.to_upstream("7zip") == "_7zip"
    assert names.to_client("_7zip") == "7zip"
    assert names.to_upstream("_private") == "_private"
