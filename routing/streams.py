"""Async generators that forward upstream streams to the client as chunks arrive.

Each generator owns the upstream response and closes it in ``finally``: when the
client disconnects, Django cancels the task consuming the generator, the pending
upstream read is cancelled with it, and the connection is released at once.
"""

import json
import logging
from collections.abc import AsyncIterator, Callable

import httpx

from routing.errors import scrub_secrets
from routing.sse import SSEDecoder, encode_event
from routing.translation import OpenAIToAnthropicStream

logger = logging.getLogger(__name__)

StreamDone = Callable[[], None]


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "upstream stream timed out"
    return f"upstream stream failed ({type(exc).__name__})"


async def relay_bytes(
    response: httpx.Response, *, error_event: Callable[[str], bytes]
) -> AsyncIterator[bytes]:
    """Byte-for-byte relay (same dialect on both sides)."""
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        logger.warning("upstream stream broke: %s", type(exc).__name__)
        yield error_event(_failure_message(exc))
    finally:
        await response.aclose()


def anthropic_error_event(message: str, error_type: str = "api_error") -> bytes:
    return encode_event("error", {"type": "error", "error": {"type": error_type, "message": message}})


def _upstream_error_in_chunk(chunk: dict[str, object], secrets: tuple[str, ...]) -> str | None:
    error = chunk.get("error")
    if error is None:
        return None
    message = error.get("message") if isinstance(error, dict) else error
    return scrub_secrets(str(message), secrets)


async def openai_to_anthropic_events(
    response: httpx.Response, translator: OpenAIToAnthropicStream, *, secrets: tuple[str, ...] = ()
) -> AsyncIterator[bytes]:
    """Translate an OpenAI chunk stream into Anthropic events, one write per upstream chunk."""
    decoder = SSEDecoder()
    try:
        async for raw in response.aiter_raw():
            out: list[bytes] = []
            for event in decoder.feed(raw):
                data = event.data.strip()
                if not data or data == "[DONE]":
                    continue
                chunk = json.loads(data)
                failure = _upstream_error_in_chunk(chunk, secrets) if isinstance(chunk, dict) else None
                if failure is not None:
                    yield b"".join(out) + anthropic_error_event(f"upstream error: {failure}")
                    return
                out.extend(encode_event(name, payload) for name, payload in translator.feed(chunk))
            if out:
                yield b"".join(out)
        yield b"".join(encode_event(name, payload) for name, payload in translator.finish())
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("upstream stream broke: %s", type(exc).__name__)
        yield anthropic_error_event(_failure_message(exc))
    finally:
        await response.aclose()
