"""Anthropic content blocks → OpenAI content parts (user turns and tool results).

Images become ``image_url`` parts (base64 sources as ``data:`` URIs), PDFs become
``file`` parts carrying a ``data:`` URI, text documents become text parts. A tool
result becomes one ``role: tool`` message with string content; anything a tool
message cannot hold (images, files) is returned separately so the caller can send it
in the user message that follows.
"""

from typing import Any

from routing.translation.errors import TranslationError
from routing.translation.provider_state import split_tool_id
from routing.translation.shapes import (
    JSONObject,
    block_type,
    content_blocks,
    optional_str,
    require_object,
    require_str,
)

ERROR_PREFIX = "Error: "


def text_part(text: str) -> JSONObject:
    return {"type": "text", "text": text}


def _data_uri(source: JSONObject, field: str) -> str:
    media_type = require_str(source.get("media_type"), f"{field}.media_type")
    data = require_str(source.get("data"), f"{field}.data")
    return f"data:{media_type};base64,{data}"


def image_part(block: JSONObject, field: str) -> JSONObject:
    source = require_object(block.get("source"), f"{field}.source")
    kind = source.get("type")
    if kind == "base64":
        url = _data_uri(source, f"{field}.source")
    elif kind == "url":
        url = require_str(source.get("url"), f"{field}.source.url")
    else:
        raise TranslationError("image source type must be 'base64' or 'url'", f"{field}.source.type")
    return {"type": "image_url", "image_url": {"url": url}}


def _file_part(source: JSONObject, title: str | None, field: str) -> JSONObject:
    data_uri = _data_uri(source, field)
    default_name = "document.pdf" if source.get("media_type") == "application/pdf" else "document"
    return {"type": "file", "file": {"filename": title or default_name, "file_data": data_uri}}


def _titled(title: str | None, text: str) -> str:
    return f"{title}\n\n{text}" if title else text


def document_parts(block: JSONObject, field: str) -> list[JSONObject]:
    source = require_object(block.get("source"), f"{field}.source")
    title = optional_str(block.get("title"), f"{field}.title")
    kind = source.get("type")
    if kind == "text":
        return [text_part(_titled(title, require_str(source.get("data"), f"{field}.source.data")))]
    if kind == "base64":
        return [_file_part(source, title, f"{field}.source")]
    if kind == "content":
        return _content_source_parts(source.get("content"), f"{field}.source.content")
    if kind == "url":
        raise TranslationError(
            "URL documents cannot be sent to an OpenAI-format provider; send the document as base64",
            f"{field}.source.type",
        )
    raise TranslationError(
        "document source type must be 'text', 'base64', 'content' or 'url'", f"{field}.source.type"
    )


def _content_source_parts(content: Any, field: str) -> list[JSONObject]:
    parts: list[JSONObject] = []
    for index, block in enumerate(content_blocks(content, field)):
        kind = block["type"]
        if kind == "text":
            parts.append(text_part(require_str(block.get("text"), f"{field}.{index}.text")))
        elif kind == "image":
            parts.append(image_part(block, f"{field}.{index}"))
        else:
            raise TranslationError("document content blocks must be text or image", f"{field}.{index}.type")
    return parts


def user_parts(block: JSONObject, field: str) -> list[JSONObject]:
    """The OpenAI parts for one non-``tool_result`` block of a user turn."""
    kind = block_type(block, field)
    if kind == "text":
        return [text_part(require_str(block.get("text"), f"{field}.text"))]
    if kind == "image":
        return [image_part(block, field)]
    if kind == "document":
        return document_parts(block, field)
    raise TranslationError(f"unsupported content block type {kind[:40]!r} in a user message", f"{field}.type")


def _result_content(content: Any, field: str) -> tuple[list[str], list[JSONObject]]:
    """(texts for the tool message, parts that must travel in a user message)."""
    if content is None:
        return [], []
    texts: list[str] = []
    media: list[JSONObject] = []
    for index, block in enumerate(content_blocks(content, field)):
        path = f"{field}.{index}"
        if block["type"] == "text":
            texts.append(require_str(block.get("text"), f"{path}.text"))
            continue
        if block["type"] not in ("image", "document"):
            raise TranslationError(
                "tool result content blocks must be text, image or document", f"{path}.type"
            )
        for part in user_parts(block, path):
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                media.append(part)
    return texts, media


def tool_result_message(block: JSONObject, field: str) -> tuple[JSONObject, list[JSONObject]]:
    """The ``role: tool`` message for a ``tool_result`` block, and any media it carried.

    ``is_error`` has no OpenAI field, so it is kept in the content as an ``Error:``
    prefix the model can read.
    """
    tool_use_id, _signature = split_tool_id(require_str(block.get("tool_use_id"), f"{field}.tool_use_id"))
    texts, media = _result_content(block.get("content"), f"{field}.content")
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = ERROR_PREFIX + text if text else ERROR_PREFIX.rstrip()
    return {"role": "tool", "tool_call_id": tool_use_id, "content": text}, media
