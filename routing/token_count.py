"""A local token-count estimate for ``/v1/messages/count_tokens`` on OpenAI-format providers.

OpenAI-format APIs have no count endpoint, and learning the count from a completion
would be billed. This counts the request's text with the o200k_base BPE (the GPT-4o /
GPT-5 vocabulary, shipped inside the ``bpe-openai`` wheel, so it works offline) plus the
framing overheads OpenAI documents for chat messages. It is an estimate: other
providers' tokenizers differ, typically by 10-20 % on prose.
"""

import json
from functools import lru_cache
from typing import Any, Protocol

TOKENS_PER_MESSAGE = 3  # role and separators, per OpenAI's cookbook
TOKENS_PER_REPLY_PRIMER = 3
TOKENS_PER_TOOL = 8  # function wrapper around name/description/parameters
# Anthropic's documented estimate for an image is width*height/750 tokens; the request
# does not carry dimensions, so a typical 1092x1092 image is assumed.
TOKENS_PER_IMAGE = 1600
TOKENS_PER_PDF_PAGE_GUESS = 1500
# The BPE refuses one text of 1 000 000 characters or 200 000 tokens; pieces of 40 000
# characters stay under both (a character is at most 4 bytes, a byte at most a token).
PIECE_CHARACTERS = 40_000
# Counting runs at about 5 MB/s: past this one request would hold the counting process
# (routing.token_worker) for more than about 0.4 s.
MAX_COUNTED_CHARACTERS = 2_000_000


class TooLongToCount(ValueError):
    """The request is larger than the local estimate counts."""

    def __init__(self, characters: int) -> None:
        super().__init__(
            f"count_tokens: the request is {characters} characters of JSON; the gateway's local "
            f"estimate counts at most {MAX_COUNTED_CHARACTERS}"
        )
        self.characters = characters


def _as_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Encoding(Protocol):
    def encode(self, text: str) -> list[int]: ...


@lru_cache(maxsize=1)
def _encoding() -> _Encoding:
    import bpe_openai  # loaded on first use: ~60 ms, then cached for the process

    encoding: _Encoding = bpe_openai.get_encoding("o200k_base")
    return encoding


def count_text_tokens(text: str) -> int:
    encode = _encoding().encode
    return sum(
        len(encode(text[start : start + PIECE_CHARACTERS])) for start in range(0, len(text), PIECE_CHARACTERS)
    )


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return count_text_tokens(block)
    if not isinstance(block, dict):
        return 0
    kind = block.get("type")
    if kind == "image":
        return TOKENS_PER_IMAGE
    if kind == "document":
        source = _as_object(block.get("source"))
        data = source.get("data")
        if source.get("type") == "text" and isinstance(data, str):
            return count_text_tokens(data)
        return TOKENS_PER_PDF_PAGE_GUESS
    if kind == "tool_use":
        return count_text_tokens(str(block.get("name", ""))) + count_text_tokens(
            json.dumps(block.get("input", {}))
        )
    if kind == "tool_result":
        return _content_tokens(block.get("content"))
    text = block.get("text") or block.get("thinking") or ""
    return count_text_tokens(text) if isinstance(text, str) else 0


def _content_tokens(content: Any) -> int:
    if isinstance(content, list):
        return sum(_block_tokens(block) for block in content)
    return _block_tokens(content)


def _tool_tokens(tool: Any) -> int:
    if not isinstance(tool, dict):
        return 0
    parts = [str(tool.get("name", "")), str(tool.get("description", ""))]
    schema = tool.get("input_schema")
    if schema is not None:
        parts.append(json.dumps(schema, separators=(",", ":")))
    return TOKENS_PER_TOOL + sum(count_text_tokens(part) for part in parts)


def check_countable(body: dict[str, Any]) -> None:
    characters = len(json.dumps(body, ensure_ascii=False))
    if characters > MAX_COUNTED_CHARACTERS:
        raise TooLongToCount(characters)


def count_request_tokens(body: dict[str, Any]) -> int:
    """Estimated input tokens of an Anthropic Messages request; never raises on odd input,
    only ``TooLongToCount`` past ``MAX_COUNTED_CHARACTERS``."""
    check_countable(body)
    total = TOKENS_PER_REPLY_PRIMER
    system = body.get("system")
    if system:
        total += TOKENS_PER_MESSAGE + _content_tokens(system)
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            total += TOKENS_PER_MESSAGE + _content_tokens(message.get("content"))
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        total += _tool_tokens(tool)
    return total
