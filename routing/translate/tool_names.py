"""Tool-name sanitization for providers that restrict names to ``[A-Za-z0-9_-]{1,64}``.

Names are rewritten going up and restored coming back; the mapping is deterministic
and collision-free (a clash gets a short hash suffix).
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALLOWED_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DISALLOWED_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ToolNameMap:
    to_upstream_names: Mapping[str, str] = field(default_factory=dict)
    to_client_names: Mapping[str, str] = field(default_factory=dict)

    def to_upstream(self, name: str) -> str:
        return self.to_upstream_names.get(name, name)

    def to_client(self, name: str) -> str:
        return self.to_client_names.get(name, name)


IDENTITY = ToolNameMap()


def _sanitize(name: str) -> str:
    cleaned = _DISALLOWED_CHARS.sub("_", name) or "tool"
    if len(cleaned) <= 64 and cleaned == name:
        return cleaned
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{cleaned[:55]}_{digest}"


def build_tool_name_map(tools: Iterable[Any], *, sanitize: bool) -> ToolNameMap:
    if not sanitize:
        return IDENTITY
    up: dict[str, str] = {}
    down: dict[str, str] = {}
    for tool in tools:
        name = tool.get("name") if isinstance(tool, dict) else None
        if not isinstance(name, str) or name in up:
            continue
        candidate = name if ALLOWED_NAME.match(name) else _sanitize(name)
        if candidate in down:
            candidate = f"{candidate[:55]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        up[name] = candidate
        down[candidate] = name
    return ToolNameMap(up, down)
