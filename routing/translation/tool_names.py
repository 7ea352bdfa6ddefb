"""Tool-name sanitization for providers that restrict function names.

OpenAI (and most providers that copy it) accept only ``^[a-zA-Z0-9_-]{1,64}$``, and
Gemini also wants the first character to be a letter or an underscore; a sanitized name
keeps to both rules. Anthropic tool names may be longer or carry other characters (MCP tools such as
``mcp__server__do.thing``). Names are rewritten going up and restored coming back.

The mapping is deterministic and independent of the order of ``tools``: names that
are already valid keep their spelling; the others are cleaned, and a cleaned name
that clashes with another name (or had to be shortened) gets a short hash suffix
derived from the original name.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

VALID_TOOL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]{0,63}$")
_DISALLOWED = re.compile(r"[^a-zA-Z0-9_-]")
_MAX_LENGTH = 64
_SUFFIX_LENGTH = 8  # hex characters of sha256: collisions are astronomically unlikely


def _hash_suffix(name: str, attempt: int) -> str:
    salted = name if attempt == 0 else f"{name}#{attempt}"
    return hashlib.sha256(salted.encode("utf-8")).hexdigest()[:_SUFFIX_LENGTH]


def _cleaned(name: str) -> str:
    cleaned = _DISALLOWED.sub("_", name) or "tool"
    # Gemini refuses a name that starts with a digit or a dash.
    return cleaned if cleaned[0].isalpha() or cleaned[0] == "_" else f"_{cleaned}"


def _suffixed(name: str, attempt: int = 0) -> str:
    head = _cleaned(name)[: _MAX_LENGTH - _SUFFIX_LENGTH - 1]
    return f"{head}_{_hash_suffix(name, attempt)}"


def sanitize_tool_name(name: str) -> str:
    """The sanitized spelling of ``name`` when nothing else competes for it."""
    if VALID_TOOL_NAME.match(name):
        return name
    cleaned = _cleaned(name)
    return cleaned if len(cleaned) <= _MAX_LENGTH else _suffixed(name)


@dataclass(frozen=True)
class ToolNameMap:
    """Original (client) tool names ↔ the names sent upstream.

    Names not in the map pass through unchanged, except that with ``sanitize`` on an
    unknown invalid name (a tool used earlier in the conversation but no longer
    declared) is still cleaned so the upstream accepts the history.
    """

    original_to_sanitized: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sanitized_to_original: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    sanitize: bool = False

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.original_to_sanitized.items())), self.sanitize))

    def to_upstream(self, name: str) -> str:
        mapped = self.original_to_sanitized.get(name)
        if mapped is not None:
            return mapped
        if self.sanitize and not VALID_TOOL_NAME.match(name):
            return _suffixed(name)
        return name

    def to_client(self, name: str) -> str:
        return self.sanitized_to_original.get(name, name)


def _declared_names(tools: Any) -> list[str]:
    if not isinstance(tools, list):
        return []
    names = (tool.get("name") for tool in tools if isinstance(tool, dict))
    return list(dict.fromkeys(name for name in names if isinstance(name, str)))


def build_tool_name_map(tools: Any, *, sanitize: bool) -> ToolNameMap:
    """Map every declared tool name; ``tools`` is the raw request value (any JSON)."""
    if not sanitize:
        return ToolNameMap()
    names = _declared_names(tools)
    forward: dict[str, str] = {name: name for name in names if VALID_TOOL_NAME.match(name)}
    taken = set(forward)
    for name in sorted(n for n in names if n not in forward):
        candidate = sanitize_tool_name(name)
        attempt = 0
        while candidate in taken:
            candidate = _suffixed(name, attempt)
            attempt += 1
        forward[name] = candidate
        taken.add(candidate)
    backward = {sanitized: original for original, sanitized in forward.items()}
    return ToolNameMap(MappingProxyType(forward), MappingProxyType(backward), sanitize=True)
