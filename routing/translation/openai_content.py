"""OpenAI content parts → Anthropic content blocks (the OpenAI front door's user turns).

``text`` parts become text blocks; ``image_url`` parts become image blocks (a ``data:``
URI as a base64 source, an http(s) URL as a url source); ``file`` parts carrying a PDF
or plain-text ``data:`` URI become document blocks. Audio and uploaded-file ids have no
Anthropic equivalent and are refused with the field named. A ``cache_control`` on a
part (OpenRouter's convention for Anthropic models) is carried over to its block.
"""

import base64
import binascii
from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.shapes import JSONObject, block_type, optional_str, require_list, require_str

TEXT_MEDIA_TYPES = frozenset({"text/plain"})


def _with_cache_control(block: JSONObject, part: JSONObject) -> JSONObject:
    cache_control = part.get("cache_control")
    if isinstance(cache_control, dict):
        block["cache_control"] = cache_control
    return block


def text_block(text: str) -> JSONObject:
    return {"type": "text", "text": text}


def parse_data_uri(uri: str, field: str) -> tuple[str, str]:
    """(media type, base64 data) of ``data:MEDIA;base64,DATA``."""
    header, comma, data = uri.removeprefix("data:").partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64" or not media_type:
        raise TranslationError("a data URI must look like data:MEDIA_TYPE;base64,DATA", field)
    return media_type, data


def _image_block(part: JSONObject, field: str) -> JSONObject:
    image = part.get("image_url")
    url = image if isinstance(image, str) else require_str(_get(image, "url", field), f"{field}.url")
    if url.startswith("data:"):
        media_type, data = parse_data_uri(url, f"{field}.url")
        source: JSONObject = {"type": "base64", "media_type": media_type, "data": data}
    elif url.startswith(("https://", "http://")):
        source = {"type": "url", "url": url}
    else:
        raise TranslationError("an image URL must be an http(s) URL or a data: URI", f"{field}.url")
    return {"type": "image", "source": source}


def _get(container: Any, key: str, field: str) -> Any:
    if not isinstance(container, dict):
        raise TranslationError("must be an object", field)
    return container.get(key)


def _document_block(part: JSONObject, field: str) -> JSONObject:
    file = part.get("file")
    if not isinstance(file, dict):
        raise TranslationError("must be an object", field)
    if file.get("file_id") is not None and file.get("file_data") is None:
        raise TranslationError(
            "uploaded file ids cannot be sent to an Anthropic-format provider; send file_data",
            f"{field}.file_id",
        )
    media_type, data = parse_data_uri(
        require_str(file.get("file_data"), f"{field}.file_data"), f"{field}.file_data"
    )
    if media_type in TEXT_MEDIA_TYPES:
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TranslationError("not base64 of UTF-8 text", f"{field}.file_data") from exc
        source: JSONObject = {"type": "text", "media_type": "text/plain", "data": text}
    elif media_type == "application/pdf":
        source = {"type": "base64", "media_type": media_type, "data": data}
    else:
        raise TranslationError(
            f"files of type {media_type[:60]!r} cannot be sent to an Anthropic-format provider "
            "(PDF and plain text can)",
            f"{field}.file_data",
        )
    block: JSONObject = {"type": "document", "source": source}
    title = optional_str(file.get("filename"), f"{field}.filename")
    if title:
        block["title"] = title
    return block


def user_block(part: Any, field: str) -> JSONObject:
    """The Anthropic block for one part of a user message."""
    kind = block_type(part, field)
    if kind == "text":
        block = text_block(require_str(part.get("text"), f"{field}.text"))
    elif kind == "image_url":
        block = _image_block(part, f"{field}.image_url")
    elif kind == "file":
        block = _document_block(part, f"{field}.file")
    elif kind == "input_audio":
        raise TranslationError("audio input cannot be sent to an Anthropic-format provider", f"{field}.type")
    else:
        raise TranslationError(f"unsupported content part type {kind[:40]!r}", f"{field}.type")
    return _with_cache_control(block, part)


def user_blocks(content: Any, field: str) -> list[JSONObject]:
    """A user message's content (a string or a list of parts) as Anthropic blocks."""
    if isinstance(content, str):
        return [text_block(content)]
    return [user_block(part, f"{field}.{index}") for index, part in enumerate(require_list(content, field))]


def text_blocks(content: Any, field: str, *, refusals: bool = False) -> list[JSONObject]:
    """Content that may only hold text (system, developer, tool and assistant messages).

    Empty texts are dropped: Anthropic refuses empty text blocks. ``refusals`` admits
    the assistant's ``refusal`` parts as text.
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [text_block(content)] if content else []
    blocks = []
    for index, part in enumerate(require_list(content, field)):
        path = f"{field}.{index}"
        kind = block_type(part, path)
        if kind == "refusal" and refusals:
            text = require_str(part.get("refusal"), f"{path}.refusal")
        elif kind == "text":
            text = require_str(part.get("text"), f"{path}.text")
        else:
            raise TranslationError("only text parts are allowed here", f"{path}.type")
        if text:
            blocks.append(_with_cache_control(text_block(text), part))
    return blocks
