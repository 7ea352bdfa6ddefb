"""Provider reasoning state carried in Responses ``reasoning`` items. Pure.

A Responses client that sends ``store: false`` (Codex always does) keeps the model's
reasoning itself: each ``reasoning`` item of an answer comes back, unchanged, in the
``input`` of the next request, and ``encrypted_content`` is the field it must return
untouched. When the serving provider is not a Responses provider, that field carries
what the provider needs back on the next turn:

- ``{"anthropic": block}``: an Anthropic ``thinking`` block (text and signature) or a
  ``redacted_thinking`` block, returned as is so a tool loop keeps its signed thinking;
- ``{"reasoning_details": [entries]}``: OpenRouter's entries of one reasoning step;
- ``{"reasoning_content": text}``: DeepSeek-style reasoning text.

The value is ``vdmrs1.`` + base64url(compact JSON). ``decode_reasoning`` answers None
for anything else (an OpenAI-encrypted blob from an earlier turn served by OpenAI, a
client's edit): such items are dropped on the way up, never sent to a provider that
cannot read them.
"""

import base64
import binascii
import json
from typing import Any

MARKER = "vdmrs1."


def encode_reasoning(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return MARKER + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_reasoning(value: object) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value.startswith(MARKER):
        return None
    encoded = value[len(MARKER) :]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None
