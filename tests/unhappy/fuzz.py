"""A seeded generator of hostile and careless requests for the gateway's two doors and
``count_tokens``, and the judge of their answers.

Every request is a valid base request of its door with one mutation. Hostile mutations
(bad JSON, ``NaN``, lone surrogates, deep nesting, wrong types, control characters in
the model or the forwarded headers, wrong methods, a body too large to count) must be
refused with a 4xx in the door's dialect before any upstream call; careless ones
(unicode, unknown fields, junk query strings or request ids, large text, streams) may
reach the upstream and must never get a 5xx. The same seed gives the same requests, so
a failure can be replayed: ``FuzzRequest.kind`` names the mutation.

Used by ``tests/unhappy/test_fuzz.py`` (in process) and the benchmark's fuzz phase (over
sockets, ``FuzzRequest.http_bytes``).
"""

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"
COUNT_TOKENS = "/v1/messages/count_tokens"
DOORS = (MESSAGES, CHAT, COUNT_TOKENS)
# Past the gateway's local count limit (routing.token_count.MAX_COUNTED_CHARACTERS).
TOO_LONG_TO_COUNT = 2_100_000

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class FuzzRequest:
    kind: str  # the mutation, for the summary and to replay a failure
    path: str  # with its query string
    body: bytes
    headers: Headers
    hostile: bool  # must be refused before any upstream call
    method: str = "POST"
    status: int = 400  # what a hostile request must get

    @property
    def door(self) -> str:
        return self.path.split("?", 1)[0]

    @property
    def dialect(self) -> str:
        return "openai" if self.door == CHAT else "anthropic"

    def http_bytes(self, host: str) -> bytes:
        """The request as HTTP/1.1 on the wire (keep-alive)."""
        head = [f"{self.method} {self.path} HTTP/1.1".encode(), f"host: {host}".encode()]
        head += [name + b": " + value for name, value in self.headers]
        head.append(f"content-length: {len(self.body)}".encode())
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


@dataclass
class Mutation:
    body: Any  # a JSON value to encode, or bytes sent as they are
    hostile: bool
    headers: dict[bytes, bytes] = field(default_factory=dict)
    method: str = "POST"
    status: int = 400
    query: str = ""


def encode(value: Any) -> bytes:
    """JSON as a careless client writes it: ``NaN`` allowed, surrogates as ``\\ud800``."""
    if isinstance(value, bytes):
        return value
    return json.dumps(value, allow_nan=True).encode()


def is_dialect_error(dialect: str, payload: object) -> bool:
    """Whether ``payload`` is an error body of ``dialect`` (Anthropic's or OpenAI's)."""
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return False
    if dialect == "anthropic":
        return payload.get("type") == "error" and isinstance(error.get("type"), str)
    return {"message", "type", "param", "code"} <= set(error)


Mutator = Callable[[random.Random, dict[str, Any], str], Mutation]
CONTROL_CHARACTERS = ["\r\nx-injected: 1", "\n", "\r", "\x00", "\x01", "\x1b[31m", "\x7f", "\t"]
LONE_SURROGATES = ["\ud800", "\udfff", "a\udc00b", "\ud83d"]  # the last a pair's first half
BAD_HEADER_BYTES = [b"\x00", b"\x01", b"\x7f", b"\xe9", b"\xff\xfe", b"2023-06-01\x00", "été".encode()]


def _spots(body: dict[str, Any]) -> list[Callable[[Any], None]]:
    """Places a value can be put in a body: a new field, a sampling field, message text."""
    message = body["messages"][0]

    def top(value: Any) -> None:
        body["metadata_x"] = value

    def temperature(value: Any) -> None:
        body["temperature"] = value

    def content(value: Any) -> None:
        message["content"] = value

    def block(value: Any) -> None:
        message["content"] = [{"type": "text", "text": value}]

    return [top, temperature, content, block]


def _nested(rng: random.Random, depth: int) -> Any:
    value: Any = rng.choice([1, "x", None, []])
    for _ in range(depth - 1):
        value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def non_finite(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    rng.choice(_spots(body))(rng.choice([float("nan"), float("inf"), float("-inf")]))
    return Mutation(body, hostile=True)


def lone_surrogate(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    text = rng.choice(LONE_SURROGATES)
    where = rng.randrange(4)
    if where == 0:
        body["model"] = body["model"] + text
    elif where == 1:
        body[f"key{text}"] = 1
    else:
        rng.choice(_spots(body)[2:])(f"hello {text}")
    return Mutation(body, hostile=True)


def deep_nesting(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    depth = rng.choice([101, 150, 500, 980, 990, 1000, 2000, rng.randint(101, 5000)])
    marker = "NESTED_HERE"
    rng.choice(_spots(body))(marker)
    inner = json.dumps(_nested(rng, 1))
    opening = "".join(rng.choice(["[", '{"a":']) for _ in range(depth))
    closing = "".join("]" if char == "[" else "}" for char in reversed(opening.replace('{"a":', "{")))
    return Mutation(encode(body).replace(f'"{marker}"'.encode(), f"{opening}{inner}{closing}".encode()), True)


def role_type(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    body["messages"][0]["role"] = rng.choice([["user"], {"role": "user"}, 1, None, True, "robot", "", "USER"])
    return Mutation(body, hostile=True)


def model_control(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    text = rng.choice(CONTROL_CHARACTERS)
    body["model"] = rng.choice([body["model"] + text, text + body["model"], f"{body['model'][:2]}{text}x"])
    return Mutation(body, hostile=True)


def model_type(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    choice = rng.choice(["missing", "", "   ", 1, ["gpt-4o"], {"name": "x"}, None, True])
    if choice == "missing":
        del body["model"]
    else:
        body["model"] = choice
    return Mutation(body, hostile=True)


def messages_type(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    choice: Any = rng.choice(["missing", "hi", {"role": "user"}, [1], ["x"], None, [[]]])
    if choice == "missing":
        del body["messages"]
    else:
        body["messages"] = choice
    return Mutation(body, hostile=True)


def field_type(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    if door == MESSAGES and rng.random() < 0.6:
        choice = rng.choice(["missing", "5", -1, 0, True, 1.5, None, [5]])
        if choice == "missing":
            del body["max_tokens"]
        else:
            body["max_tokens"] = choice
    elif door == COUNT_TOKENS:
        body["messages"] = rng.choice([{}, "text", 3])
    else:
        body["stream"] = rng.choice(["yes", 1, [], {}, "true"])
    return Mutation(body, hostile=True)


def not_json(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    raw = encode(body)
    choice = rng.randrange(6)
    if choice == 0:
        data = raw[: rng.randrange(len(raw))]
    elif choice == 1:
        data = rng.randbytes(rng.randint(1, 300))
    elif choice == 2:
        data = raw.replace(b'"content": "', b'"content": "\xff\xfe\xc3', 1)
    elif choice == 3:
        data = rng.choice([b"", b"{", b"}", b"{}{}", b"nul", b"\x00" * 10, b"\xef\xbb\xbf{}"])
    elif choice == 4:
        data = raw.replace(b'"', b"'")
    else:
        data = raw + b"," + raw
    # A body that happens to be a valid object (b"{}" …) is still refused: no model.
    return Mutation(data, hostile=True)


def not_object(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    return Mutation(rng.choice([[body], "hello", 1, None, True, 1.5, []]), hostile=True)


def header_bytes(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    name = rng.choice([b"anthropic-version", b"anthropic-beta"])
    value = rng.choice([b"", b"2023-06-01", b"tools-2024"]) + rng.choice(BAD_HEADER_BYTES)
    return Mutation(body, hostile=True, headers={name: value})


def wrong_method(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    return Mutation(body, hostile=True, method=rng.choice(["GET", "PUT", "DELETE", "PATCH"]), status=405)


def too_long_to_count(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    body["messages"][0]["content"] = "word " * (TOO_LONG_TO_COUNT // 5)
    return Mutation(body, hostile=True, status=413)


def plain(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    return Mutation(body, hostile=False)


def unicode_text(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    pieces = ["😀", "中文", "עברית", "\u2028", "\u200b", "e\u0301", "\U0010fffd", "\\", '"', "</script>"]
    rng.choice(_spots(body)[2:])("".join(rng.choice(pieces) for _ in range(rng.randint(1, 40))))
    # Half as \ud83d\ude00 escapes (valid pairs), half as raw UTF-8.
    return Mutation(body if rng.random() < 0.5 else json.dumps(body, ensure_ascii=False).encode(), False)


def unknown_fields(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    for index in range(rng.randint(1, 5)):
        body[f"x_unknown_{index}"] = rng.choice([1, "s", [1, 2], {"a": {"b": [None]}}, _nested(rng, 30)])
    return Mutation(body, hostile=False)


def junk_query(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    query = rng.choice(
        ["%ff%fe", "a=%00", "model=x%0d%0ay", "a[b]=c&&=", "beta=true", "%zz", "x=" + "y" * 2000]
    )
    return Mutation(body, hostile=False, query=query)


def junk_request_id(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    value = rng.choice([b"\x01\x02", b"\xff" * 10, b"a" * 4000, b"ok-id-1", b"'; drop table"])
    return Mutation(body, hostile=False, headers={b"x-request-id": value})


def large_text(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    body["messages"][0]["content"] = "lorem ipsum " * rng.randint(100, 20_000)
    return Mutation(body, hostile=False)


def streamed(rng: random.Random, body: dict[str, Any], door: str) -> Mutation:
    if door != COUNT_TOKENS:
        body["stream"] = True
    return Mutation(body, hostile=False)


HOSTILE: list[Mutator] = [
    non_finite,
    lone_surrogate,
    deep_nesting,
    role_type,
    model_control,
    model_type,
    messages_type,
    field_type,
    not_json,
    not_object,
    header_bytes,
    wrong_method,
    too_long_to_count,
]
CARELESS: list[Mutator] = [
    plain,
    unicode_text,
    unknown_fields,
    junk_query,
    junk_request_id,
    large_text,
    streamed,
]


class Fuzzer:
    """``models`` gives each door the model names of valid requests (one per upstream
    format is best: passthrough and translation paths both get fuzzed);
    ``counted_locally`` names one whose provider has no count endpoint (OpenAI format),
    where the gateway counts itself and refuses a body too large to count."""

    def __init__(
        self,
        seed: int,
        *,
        models: dict[str, list[str]],
        counted_locally: str,
        headers: dict[bytes, bytes] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.models = models
        self.counted_locally = counted_locally
        self.headers = headers or {}

    def base(self, door: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.rng.choice(self.models[door]),
            "messages": [{"role": "user", "content": "Say hello"}],
        }
        if door == MESSAGES:
            body["max_tokens"] = 16
        return body

    def request(self) -> FuzzRequest:
        mutator = self.rng.choice(HOSTILE if self.rng.random() < 0.7 else CARELESS)
        door = COUNT_TOKENS if mutator is too_long_to_count else self.rng.choice(DOORS)
        body = self.base(door)
        if mutator is too_long_to_count:
            body["model"] = self.counted_locally
        mutation = mutator(self.rng, body, door)
        headers = {b"content-type": b"application/json", **self.headers}
        if door != CHAT:
            headers[b"anthropic-version"] = b"2023-06-01"
        headers.update(mutation.headers)
        path = f"{door}?{mutation.query}" if mutation.query else door
        return FuzzRequest(
            kind=mutator.__name__,
            path=path,
            body=encode(mutation.body),
            headers=tuple(headers.items()),
            hostile=mutation.hostile,
            method=mutation.method,
            status=mutation.status,
        )

    def requests(self, count: int) -> Iterator[FuzzRequest]:
        for _ in range(count):
            yield self.request()
