"""State an OpenAI-compatible provider needs back on the next turn, carried through an
Anthropic client that only returns what it was given. Pure.

Gemini (2.5, 3) puts a thought signature on function calls
(``tool_calls[i].extra_content.google.thought_signature``; with parallel calls, only
on the first) and rejects the next request of the same turn with a 400 when a call
comes back without it. An Anthropic ``tool_use`` block has no place for it, but its
``id`` always comes back unchanged (on the assistant's ``tool_use`` and on the
user's ``tool_result``), so the signature travels inside the id:
``{upstream id}_vdmts_{base64url(signature)}``, which stays within the
``[A-Za-z0-9_-]`` alphabet Anthropic allows for ids. On the way up the id is split
again: the upstream sees its own id, and the signature where it put it.

DeepSeek's thinking mode returns ``reasoning_content``. It must not come back on a
plain answer turn (the first reasoner answered that with a 400; thinking mode ignores
it), and must come back on every assistant turn that made tool calls (thinking mode
answers a missing one with a 400). Thinking blocks carry it through the client.

OpenRouter wants its ``reasoning_details`` back unchanged in the next request;
``routing.translation.reasoning_details`` carries them in thinking blocks.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

SIGNATURE_MARKER = "_vdmts_"
VALID_ID = re.compile(r"^[A-Za-z0-9_-]+$")  # what Anthropic accepts as a tool_use id
# Google's documented stand-in for a call that has no signature of its own (history
# from another model, or edited): accepted by the validator instead of a 400.
SKIP_SIGNATURE_VALIDATION = "skip_thought_signature_validator"


@dataclass(frozen=True)
class ProviderQuirks:
    """What one OpenAI-compatible provider needs beyond the plain dialect."""

    thought_signatures: bool = False  # Gemini: signatures back on tool calls
    reasoning_on_tool_turns: bool = False  # DeepSeek: reasoning_content back on tool-call turns
    reasoning_details: bool = False  # OpenRouter: reasoning_details as thinking blocks, and back


PLAIN_OPENAI = ProviderQuirks()


def thought_signature(call: Any) -> str | None:
    """The Gemini thought signature on an upstream tool call (or call delta), if any."""
    extra = call.get("extra_content") if isinstance(call, dict) else None
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


def tool_id_with_signature(tool_id: str, signature: str | None) -> str:
    if not signature:
        return tool_id
    encoded = base64.urlsafe_b64encode(signature.encode("utf-8")).decode("ascii").rstrip("=")
    return f"{tool_id}{SIGNATURE_MARKER}{encoded}"


def split_tool_id(tool_id: str) -> tuple[str, str | None]:
    """(the upstream's own id, the signature carried in it, if any)."""
    head, marker, encoded = tool_id.partition(SIGNATURE_MARKER)
    if not marker or not encoded:
        return tool_id, None
    try:
        padded = (encoded + "=" * (-len(encoded) % 4)).encode("ascii")
        signature = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return tool_id, None  # not one of ours after all
    return (head, signature) if signature else (tool_id, None)


def with_signature(call: dict[str, Any], signature: str) -> dict[str, Any]:
    return {**call, "extra_content": {"google": {"thought_signature": signature}}}
