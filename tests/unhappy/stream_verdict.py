"""A lean streaming client for many concurrent requests, and the verdict on what came back.

One raw HTTP/1.1 connection per request (``connection: close``), so a thousand streams cost
a thousand sockets and no HTTP library. The whole answer is read under a bounded deadline,
the chunked body is decoded strictly (a body without its terminating chunk is a cut), and
the SSE events are judged in the client's dialect:

- a healthy answer ends properly (Anthropic: ``message_stop``; OpenAI: a ``finish_reason``
  and ``[DONE]``) with all its text;
- a broken one ends with exactly one well-formed error event in its dialect, as the last
  event, after whole events only — or is an HTTP error status with a dialect error body
  when the fault came before the stream.
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

ANTHROPIC_DOOR = "/v1/messages"
OPENAI_DOOR = "/v1/chat/completions"
READER_LIMIT = 1 << 20

# Verdicts
OK = "ok"  # healthy: the whole text, properly ended; faulty: one clean dialect error
HANG = "hang"  # no complete answer within the deadline
GARBAGE = "garbage"  # a cut or reset body, an unparseable event, a wrong-dialect error
EMPTY_SUCCESS = "empty_success"  # a proper end, but the text is missing or short
WRONG = "wrong"  # well-formed, but not what this request should have got


@dataclass
class Answer:
    status: int
    body: bytes


class Broken(Exception):
    """The bytes on the wire are not a whole HTTP answer (a cut, a reset, bad chunking)."""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readline()
        if not line.endswith(b"\r\n"):
            raise Broken(f"chunk size line cut: {line[:40]!r}")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readline()
            return bytes(body)
        data = await reader.readexactly(size + 2)
        body += data[:-2]


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        return Answer(status, await _read_chunked(reader))
    if b"content-length" in headers:
        return Answer(status, await reader.readexactly(int(headers[b"content-length"])))
    return Answer(status, await reader.read())


async def fetch(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
    """POST ``body`` on a fresh connection and read the whole answer (raises ``Broken``,
    ``OSError`` or ``asyncio.IncompleteReadError`` when the wire breaks)."""
    payload = json.dumps(body).encode()
    lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}", "content-type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"content-length: {len(payload)}", "connection: close"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READER_LIMIT)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        return await _read_answer(reader)
    finally:
        writer.close()


def sse_events(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) per event; ``Broken`` when the body does not end on an event
    boundary or an event has no data line."""
    text = body.decode("utf-8")  # invalid UTF-8 from the gateway is garbage too
    if not text.endswith("\n\n"):
        raise Broken(f"the body ends mid-event: {text[-80:]!r}")
    events: list[tuple[str | None, str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n")[:-1]:
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line and not line.startswith(":"):
                raise Broken(f"a line that is no SSE field: {line[:80]!r}")
        if data:
            events.append((name, "\n".join(data)))
        elif name is not None:
            raise Broken(f"event {name!r} without data")
    return events


def _is_anthropic_error(payload: Any) -> bool:
    error = payload.get("error") if isinstance(payload, dict) else None
    return (
        payload.get("type") == "error"
        and isinstance(error, dict)
        and isinstance(error.get("type"), str)
        and isinstance(error.get("message"), str)
    )


def _is_openai_error(payload: Any) -> bool:
    error = payload.get("error") if isinstance(payload, dict) else None
    return isinstance(error, dict) and isinstance(error.get("message"), str) and len(payload) == 1


def _anthropic_stream(events: list[tuple[str | None, str]]) -> tuple[str, str]:
    """("text" | "error", the text or the error message) of an Anthropic stream."""
    payloads = [(name, json.loads(data)) for name, data in events]
    errors = [p for name, p in payloads if name == "error" or p.get("type") == "error"]
    if errors:
        name, last = payloads[-1]
        if len(errors) != 1 or name != "error" or not _is_anthropic_error(last):
            raise Broken(f"error events not clean: {events[-3:]!r}")
        return "error", str(last["error"]["message"])
    if payloads[-1][0] != "message_stop":
        raise Broken(f"no message_stop and no error: {events[-2:]!r}")
    deltas = [p["delta"] for _, p in payloads if p.get("type") == "content_block_delta"]
    return "text", "".join(d.get("text", "") for d in deltas)


def _openai_stream(events: list[tuple[str | None, str]]) -> tuple[str, str]:
    """("text" | "error", the text or the error message) of an OpenAI stream."""
    done = [data for _, data in events if data == "[DONE]"]
    payloads = [json.loads(data) for _, data in events if data != "[DONE]"]
    errors = [p for p in payloads if "error" in p]
    if errors:
        if len(errors) != 1 or done or payloads[-1] is not errors[0] or not _is_openai_error(errors[0]):
            raise Broken(f"error events not clean: {events[-3:]!r}")
        return "error", str(errors[0]["error"]["message"])
    finished = any(c.get("finish_reason") for p in payloads for c in p.get("choices", []))
    if events[-1][1] != "[DONE]" or len(done) != 1 or not finished:
        raise Broken(f"no finish_reason + [DONE] and no error: {events[-2:]!r}")
    deltas = [c.get("delta", {}) for p in payloads for c in p.get("choices", [])]
    return "text", "".join(d.get("content") or "" for d in deltas)


def outcome(path: str, answer: Answer) -> tuple[str, str]:
    """("text" | "error", detail) for a well-formed answer; ``Broken`` (or a JSON or
    Unicode error) for garbage."""
    anthropic = path == ANTHROPIC_DOOR
    if answer.status >= 400:
        payload = json.loads(answer.body)
        if not (_is_anthropic_error(payload) if anthropic else _is_openai_error(payload)):
            raise Broken(f"status {answer.status} without a dialect error body: {answer.body[:200]!r}")
        return "error", f"{answer.status}: {payload['error']['message']}"
    if answer.status != 200:
        raise Broken(f"status {answer.status}")
    events = sse_events(answer.body)
    if not events:
        raise Broken("an empty stream")
    return _anthropic_stream(events) if anthropic else _openai_stream(events)


def verdict(path: str, answer: Answer, expected_text: str | None) -> tuple[str, str]:
    """OK, GARBAGE, EMPTY_SUCCESS or WRONG, and a detail; ``expected_text`` None means the
    request must end in a clean error."""
    try:
        kind, detail = outcome(path, answer)
    except (Broken, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        return GARBAGE, f"{type(exc).__name__}: {exc}"[:300]
    if expected_text is None:
        if kind == "error":
            return OK, detail
        return EMPTY_SUCCESS, f"a success where an error was due: {detail[:120]!r}"
    if kind == "text" and detail == expected_text:
        return OK, detail
    if kind == "text":
        return EMPTY_SUCCESS, f"text {detail[:120]!r}"
    return WRONG, f"error where text was due: {detail[:200]}"


async def run_one(
    port: int, path: str, body: dict[str, Any], headers: dict[str, str], expected: str | None, timeout: float
) -> tuple[str, str]:
    """The verdict on one request, HANG when it takes longer than ``timeout``."""
    try:
        answer = await asyncio.wait_for(fetch(port, path, body, headers), timeout)
    except TimeoutError:
        return HANG, f"no whole answer within {timeout:.0f} s"
    except (Broken, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        return GARBAGE, f"{type(exc).__name__}: {exc}"[:300]
    return verdict(path, answer, expected)
