"""Namespace tools of the Responses API, flattened for dialects that have none. Pure.

A Responses request may group function tools under a ``namespace`` tool (Codex sends
``{"type": "namespace", "name": "multi_agent_v1", "tools": [...]}``). Chat Completions
and Anthropic Messages know only a flat list of named functions, so each inner tool goes
up as ``<namespace>__<name>``, and a call the model makes to that flat name comes back
as a ``function_call`` item with ``name`` and ``namespace`` restored.

The map is built from the request's tools, never by splitting a name: a plain
function may itself contain ``__``, and only names this request flattened are restored.
Provider limits on names (length, characters) are the tool-name sanitization's business
(``routing.translation.tool_names``), applied afterwards to the flat names.
"""

from dataclasses import dataclass, field

NAMESPACE_SEPARATOR = "__"


@dataclass
class FlatToolNames:
    """Flat name -> (namespace, name) for the namespace tools of one request."""

    _by_flat: dict[str, tuple[str, str]] = field(default_factory=dict)

    def flatten(self, namespace: str, name: str) -> str:
        flat = f"{namespace}{NAMESPACE_SEPARATOR}{name}"
        self._by_flat[flat] = (namespace, name)
        return flat

    def restore(self, flat: str) -> tuple[str | None, str]:
        """The namespace and name the client declared (no namespace for a plain function)."""
        return self._by_flat.get(flat, (None, flat))

    def __bool__(self) -> bool:
        return bool(self._by_flat)
