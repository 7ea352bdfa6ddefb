"""What a client's request must be before the gateway acts on it. Pure: bytes and
strings in, a parsed body or a ``GatewayError`` (400, naming the field) out.

Each rule stops input that would otherwise fail deep inside the gateway, after the
upstream was called, or be forwarded broken:
- JSON that Python accepts but JSON does not (``NaN``, ``Infinity``): the body would
  be re-encoded and forwarded as invalid JSON;
- a lone UTF-16 surrogate (``"\\ud800"``): valid JSON escapes, but no UTF-8 string can
  hold it, so re-encoding the body raises;
- nesting deeper than ``MAX_JSON_DEPTH``: Python's parser and encoder recurse, and a
  few hundred levels past this raise ``RecursionError`` wherever the stack happens to be;
- control characters in the model name (it goes into a response header and upstream
  URLs: CR/LF would inject a header, NUL makes uvicorn drop the connection) and in the
  Anthropic headers the gateway forwards.

The checks that walk the body run only when a cheap scan of the raw bytes says they
could fail, so an ordinary request pays for one ``bytes.count`` and a regex search.
"""

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from routing.errors import GatewayError, invalid_request

# Deeper than any real request (tool schemas nest a dozen levels), far below the ~1 000
# at which Python's recursion limit is reached.
MAX_JSON_DEPTH = 100
# A surrogate can only come from a \uD800-\uDFFF escape: UTF-8 cannot encode one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Visible ASCII and spaces: what an HTTP header value may carry without being rewritten.
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
_CONTAINERS = (dict, list)


class _NonFinite:
    """What ``NaN``/``Infinity`` parse to, so the walk can say where they were."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


# One decoder for every request (json.loads with a keyword builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_NonFinite)


def parse_request_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 naming what is wrong and where."""
    try:
        body = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except RecursionError as exc:
        raise invalid_request(f"request body nests deeper than {MAX_JSON_DEPTH} levels") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    suspicious = (
        b"NaN" in raw
        or b"Infinity" in raw
        or _SURROGATE_ESCAPE.search(raw) is not None
        or (raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and not _shallow(body))
    )
    if suspicious:
        _raise_first_problem(body)
    return body


def _shallow(body: dict[str, Any]) -> bool:
    """Whether ``body`` nests at most ``MAX_JSON_DEPTH`` levels; one level per pass, in
    comprehensions (a few times cheaper than a walk that keeps paths)."""
    level: list[Any] = [body]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            value
            for container in level
            for value in (container.values() if type(container) is dict else container)
            if type(value) in _CONTAINERS
        ]
        if not level:
            return True
    return False


def _raise_first_problem(body: dict[str, Any]) -> None:
    for path, depth, value in _walk(body):
        field = _field_name(path)
        if depth > MAX_JSON_DEPTH and isinstance(value, _CONTAINERS):
            raise invalid_request(f"{field}: nests deeper than {MAX_JSON_DEPTH} levels", param=field)
        if isinstance(value, _NonFinite):
            raise invalid_request(
                f"{field}: {value.text} is not valid JSON (numbers must be finite)", param=field
            )
        if isinstance(value, str) and _SURROGATE.search(value):
            raise invalid_request(
                f"{field}: contains a lone UTF-16 surrogate escape, which is not valid Unicode",
                param=field,
            )


def _walk(body: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], int, Any]]:
    """Every value of ``body`` (keys included, as strings) with its path and depth;
    iterative, so depth costs no stack."""
    stack: list[tuple[tuple[str, ...], int, Any]] = [((), 1, body)]
    while stack:
        path, depth, value = stack.pop()
        yield path, depth, value
        if depth > MAX_JSON_DEPTH:
            continue
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                yield (*path, _printable(key)), depth, key
                stack.append(((*path, _printable(key)), depth + 1, item))
        elif isinstance(value, list):
            stack.extend(
                ((*path, str(index)), depth + 1, item) for index, item in reversed(list(enumerate(value)))
            )


def _field_name(path: tuple[str, ...]) -> str:
    name = ".".join(path) or "body"
    return name if len(name) <= 80 else f"{name[:80]}..."


def _printable(key: str) -> str:
    """A key as it can be shown in an error (a lone surrogate could not be encoded)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")[:100]


def check_model_name(model: str) -> None:
    if _CONTROL.search(model):
        raise invalid_request(
            "model: must not contain control characters such as CR, LF or NUL", param="model"
        )


def check_forwarded_headers(headers: Mapping[str, str]) -> None:
    """The client headers the gateway passes upstream must be sendable as they are."""
    for name in FORWARDED_HEADERS:
        value = headers.get(name)
        if value is not None and not _HEADER_VALUE.fullmatch(value):
            raise GatewayError(
                400,
                f"{name} header: must be printable ASCII (no control or non-ASCII characters)",
                param=name,
            )
