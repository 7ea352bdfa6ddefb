"""Cache affinity: which conversation a request belongs to, and where it was served.

Prompt caches live per deployment, so a conversation that keeps hitting the one that
served it before pays cached-token prices. The conversation is named by the first
session header the client sends (what the CLIs send, read from their installed
builds: Claude Code sends ``X-Claude-Code-Session-Id``; Codex sends ``session-id``
and ``thread-id``, and ``prompt_cache_key`` in a Responses body), or else by a hash
of the request's system prompt and first message, which stay the same for every
turn of one conversation.
"""

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

SESSION_HEADERS = ("x-claude-code-session-id", "session-id", "session_id", "thread-id", "conversation_id")
BODY_SESSION_FIELDS = ("prompt_cache_key",)
MAX_PINS = 50_000  # conversations remembered per process (oldest forgotten first)


def affinity_key(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    """The conversation's name: ``h:<header value>``, ``b:<field>`` or ``m:<hash>``;
    None when the request carries nothing to tell conversations apart."""
    for header in SESSION_HEADERS:
        value = headers.get(header)
        if value:
            return f"h:{value[:200]}"
    for name in BODY_SESSION_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value:
            return f"b:{value[:200]}"
    opening = _conversation_opening(body)
    if opening is None:
        return None
    digest = hashlib.blake2b(opening, digest_size=16).hexdigest()
    return f"m:{digest}"


def _conversation_opening(body: Mapping[str, Any]) -> bytes | None:
    """The system prompt and the first message (or Responses input item): the same on
    every turn of a conversation."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        messages = body.get("input")
    first = messages[0] if isinstance(messages, list) and messages else messages
    if first is None or (isinstance(first, str | list) and not first):
        return None
    system = body.get("system", body.get("instructions"))
    opening = {"model": body.get("model"), "system": system, "first": first}
    return json.dumps(opening, sort_keys=True, default=str).encode()


class AffinityPins:
    """Conversation → the deployment key that last served it, bounded (LRU)."""

    def __init__(self, max_pins: int = MAX_PINS) -> None:
        self.max_pins = max_pins
        self._pins: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, group: str, conversation: str) -> str | None:
        key = (group, conversation)
        pinned = self._pins.get(key)
        if pinned is not None:
            self._pins.move_to_end(key)
        return pinned

    def pin(self, group: str, conversation: str, deployment: str) -> None:
        key = (group, conversation)
        self._pins[key] = deployment
        self._pins.move_to_end(key)
        while len(self._pins) > self.max_pins:
            self._pins.popitem(last=False)

    def reset(self) -> None:
        self._pins.clear()
