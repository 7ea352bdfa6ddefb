"""OpenRouter's ``reasoning_details`` carried across turns in Anthropic thinking blocks. Pure.

OpenRouter answers with ``reasoning_details``: a list of entries of ``type``
``reasoning.text`` (``text``, ``signature``), ``reasoning.summary`` (``summary``) or
``reasoning.encrypted`` (``data``), each with ``id``, ``format`` and ``index``. It asks
for the list back, unchanged and in order, in the assistant message of the next
request: Anthropic and Gemini models behind it continue their reasoning from it and
reject a changed signature. An Anthropic client sends back the thinking blocks it was
given, so each entry becomes one block that carries the entry:

- an entry with visible text (``reasoning.text``, ``reasoning.summary``) is a
  ``thinking`` block: the text as ``thinking``, the rest of the entry in ``signature``;
- any other entry (``reasoning.encrypted``, types still to come) is a
  ``redacted_thinking`` block with the whole entry in ``data``.

Either field holds ``vdmrd1.`` + base64url(JSON ``{"p": position in the answer's list,
"d": the entry, "t": key position of the text taken out of it}``). Only the thinking
text lives outside the signature: a client must return thinking unmodified anyway
(Anthropic's own signatures cover it too), and the text is not sent twice. The
position lets blocks a client reordered go back in their order; blocks it dropped
are left out, and the rest still go back.

Streams deliver entries in fragments (``choices[].delta.reasoning_details``);
consecutive text or summary fragments of the same ``type`` and ``index`` are one entry,
their text concatenated and their other fields (the signature comes last) filled in as
they arrive. Encrypted entries come whole and are never merged, as in OpenRouter's
own SDK.
"""

import base64
import binascii
import json
from typing import Any

from routing.translation.shapes import JSONObject

MARKER = "vdmrd1."
VISIBLE_FIELDS = {"reasoning.text": "text", "reasoning.summary": "summary"}
# Fields that name an entry: fragments that disagree on one belong to different entries.
_IDENTITY_FIELDS = ("id", "format")


def reasoning_details(container: Any) -> list[JSONObject]:
    """The entries of a message's (or a delta's) ``reasoning_details``."""
    value = container.get("reasoning_details") if isinstance(container, dict) else None
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def visible_field(entry: JSONObject) -> str | None:
    """The key of the entry's readable text, for the types that have one."""
    kind = entry.get("type")
    return VISIBLE_FIELDS.get(kind) if isinstance(kind, str) else None


def visible_text(entry: JSONObject) -> str:
    field = visible_field(entry)
    text = entry.get(field) if field is not None else None
    return text if isinstance(text, str) else ""


def _encode(payload: JSONObject) -> str:
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return MARKER + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(value: Any) -> JSONObject | None:
    if not isinstance(value, str) or not value.startswith(MARKER):
        return None  # an Anthropic signature, an empty one, or another gateway's
    encoded = value[len(MARKER) :]
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def detail_block(entry: JSONObject, position: int) -> JSONObject:
    """The Anthropic block that shows ``entry`` (the ``position``-th of its answer) and
    carries it back."""
    field = visible_field(entry)
    if field is None:
        return {"type": "redacted_thinking", "data": _encode({"p": position, "d": entry})}
    text = entry.get(field)
    if not isinstance(text, str):  # a signature-only entry: kept whole, nothing to show
        return {"type": "thinking", "thinking": "", "signature": _encode({"p": position, "d": entry})}
    rest = {key: value for key, value in entry.items() if key != field}
    payload = {"p": position, "t": list(entry).index(field), "d": rest}
    return {"type": "thinking", "thinking": text, "signature": _encode(payload)}


def detail_blocks(entries: list[JSONObject]) -> list[JSONObject]:
    return [detail_block(entry, position) for position, entry in enumerate(entries)]


def _is_position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _with_text(entry: JSONObject, text: Any, key_position: Any) -> JSONObject | None:
    field = visible_field(entry)
    if field is None or field in entry or not isinstance(text, str) or not _is_position(key_position):
        return None
    items = list(entry.items())
    if key_position > len(items):
        return None
    items.insert(key_position, (field, text))
    return dict(items)


def block_detail(block: JSONObject) -> tuple[int, JSONObject] | None:
    """(position, entry) for a block made by ``detail_block``; ``None`` for any other."""
    thinking = block.get("type") == "thinking"
    payload = _decode(block.get("signature") if thinking else block.get("data"))
    if payload is None or not _is_position(payload.get("p")) or not isinstance(payload.get("d"), dict):
        return None
    entry: JSONObject | None = payload["d"]
    if "t" in payload:
        entry = _with_text(payload["d"], block.get("thinking") if thinking else None, payload["t"])
    return (payload["p"], entry) if entry is not None else None


def details_from_blocks(blocks: list[JSONObject]) -> list[JSONObject]:
    """The ``reasoning_details`` an assistant turn's thinking blocks carry, in the order of
    the answer they came from (a block repeated by the client counts once)."""
    found: list[tuple[int, JSONObject]] = []
    for block in blocks:
        detail = block_detail(block)
        if detail is not None and detail not in found:
            found.append(detail)
    found.sort(key=lambda detail: detail[0])  # stable: equal positions keep the client's order
    return [entry for _, entry in found]


def continues(entry: JSONObject, fragment: JSONObject) -> bool:
    """Whether a streamed ``fragment`` is more of ``entry`` rather than the next entry."""
    index = entry.get("index")
    if visible_field(entry) is None or fragment.get("type") != entry.get("type"):
        return False
    if not _is_position(index) or fragment.get("index") != index:
        return False
    return not any(
        entry.get(key) is not None and fragment.get(key) not in (None, entry.get(key))
        for key in _IDENTITY_FIELDS
    )


def merged(entry: JSONObject, fragment: JSONObject) -> JSONObject:
    """``entry`` with a fragment that ``continues`` it: text appended, fields it did not
    have yet (the signature, which comes last) filled in."""
    field = visible_field(entry)
    out = dict(entry)
    for key, value in fragment.items():
        if key == field and isinstance(value, str):
            before = out.get(key)
            out[key] = (before if isinstance(before, str) else "") + value
        elif out.get(key) is None:
            out[key] = value
    return out
