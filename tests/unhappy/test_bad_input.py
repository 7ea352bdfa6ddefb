"""Each kind of bad input the fuzz found (issue 10, item 7): a 400 in the door's dialect
that names the field, and no upstream call. Through the ASGI application; the official
SDKs where they can send the input at all."""

import json

import anthropic
import httpx
import openai
import pytest
import respx

from routing.request_checks import MAX_JSON_DEPTH
from routing.token_count import MAX_COUNTED_CHARACTERS
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from tests.unhappy.fuzz import CHAT, COUNT_TOKENS, MESSAGES, is_dialect_error
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")
HI = [{"role": "user", "content": "hi"}]


def body_text(door: str, model: str, extra: str = "", content: str = '"hi"') -> bytes:
    """A request body written by hand, so it can hold what json.dumps would not write."""
    max_tokens = '"max_tokens": 16, ' if door == MESSAGES else ""
    messages = f'[{{"role": "user", "content": {content}}}]'
    return f'{{"model": "{model}", {max_tokens}"messages": {messages}{extra}}}'.encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CASES = [
    # (id, door, body, headers, what the message names)
    ("surrogate", MESSAGES, body_text(MESSAGES, "mockant:c", content='"\\ud800"'), {}, "messages.0.content"),
    ("surrogate-key", CHAT, body_text(CHAT, "gpt-4o", extra=', "\\udfff": 1'), {}, "\\udfff"),
    ("surrogate-model", CHAT, body_text(CHAT, "gpt-4o\\ud83d"), {}, "model"),
    (
        "nested-990",
        MESSAGES,
        body_text(MESSAGES, "mockant:c", extra=f', "metadata": {nested(990)}'),
        {},
        "nests deeper",
    ),
    ("nested-5000", CHAT, body_text(CHAT, "gpt-4o", extra=f', "x": {nested(5000)}'), {}, "nests deeper"),
    ("nested-101", CHAT, body_text(CHAT, "gpt-4o", content=nested(101)), {}, "messages.0.content"),
    ("role-list", CHAT, body_text(CHAT, "gpt-4o").replace(b'"user"', b'["user"]'), {}, "messages.0.role"),
    (
        "role-object",
        MESSAGES,
        body_text(MESSAGES, "mockant:c").replace(b'"user"', b"{}"),
        {},
        "messages.0.role",
    ),
    (
        "version-control",
        MESSAGES,
        body_text(MESSAGES, "mockant:c"),
        {"anthropic-version": b"2023-06-01\x01"},
        "anthropic-version",
    ),
    (
        "beta-non-ascii",
        MESSAGES,
        body_text(MESSAGES, "mockant:c"),
        {"anthropic-beta": "b\xe9ta".encode("latin-1")},
        "anthropic-beta",
    ),
    ("beta-on-chat", CHAT, body_text(CHAT, "mockant:c"), {"anthropic-beta": b"\x7f"}, "anthropic-beta"),
    ("model-crlf", MESSAGES, body_text(MESSAGES, "mockant:c\\r\\nx-injected: 1"), {}, "model"),
    ("model-crlf-chat", CHAT, body_text(CHAT, "gpt-4o\\r\\nx-injected: 1"), {}, "model"),
    ("model-nul", CHAT, body_text(CHAT, "gpt-4o\\u0000"), {}, "model"),
    ("model-nul-count", COUNT_TOKENS, body_text(COUNT_TOKENS, "mockant:c\\u0000"), {}, "model"),
    ("nan", CHAT, body_text(CHAT, "gpt-4o", extra=', "temperature": NaN'), {}, "temperature"),
    ("infinity", MESSAGES, body_text(MESSAGES, "mockant:c", extra=', "top_p": -Infinity'), {}, "top_p"),
    (
        "nan-nested",
        MESSAGES,
        body_text(MESSAGES, "gpt-4o", content='[{"type": "text", "text": "x", "n": Infinity}]'),
        {},
        "messages.0.content.0.n",
    ),
]


@pytest.mark.parametrize(
    ("door", "body", "headers", "named"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
@respx.mock(assert_all_mocked=True, assert_all_called=False)
async def test_bad_input_is_a_400_in_dialect_naming_the_field_and_never_reaches_upstream(
    door: str, body: bytes, headers: dict[str, bytes], named: str, respx_mock: respx.MockRouter
) -> None:
    upstream = [respx_mock.route(url__startswith=base).respond(500) for base in (OPENAI_BASE, ANTHROPIC_BASE)]
    sent = [(b"content-type", b"application/json"), (b"anthropic-version", b"2023-06-01")]
    sent = [(name, value) for name, value in sent if name.decode() not in headers]
    sent += [(name.encode(), value) for name, value in headers.items()]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as client:
        response = await client.post(door, content=body, headers=sent)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert is_dialect_error("openai" if door == CHAT else "anthropic", payload), payload
    assert named in payload["error"]["message"]
    assert "x-injected" not in response.headers
    assert not any(route.called for route in upstream)


@respx.mock(assert_all_mocked=True)
async def test_openai_sdk_sending_a_list_as_role_gets_a_bad_request_naming_it(
    openai_sdk: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": ["user"], "content": "hi"}]
        )
    assert caught.value.param == "messages.0.role"


@respx.mock(assert_all_mocked=True)
async def test_anthropic_sdk_with_a_header_injecting_model_gets_a_bad_request(
    client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model="mockant:c\r\nx-injected: 1", max_tokens=5, messages=HI)
    assert "control characters" in str(caught.value)


@respx.mock(assert_all_mocked=True)
async def test_counting_a_million_characters_locally_answers_an_estimate(
    client: anthropic.AsyncAnthropic,
) -> None:
    text = "word " * 200_000  # the BPE alone refuses 1 000 000 characters in one piece
    counted = await client.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": text}])
    assert 200_000 <= counted.input_tokens <= 200_100


@respx.mock(assert_all_mocked=True)
async def test_counting_more_than_the_local_limit_is_a_413_saying_so(
    client: anthropic.AsyncAnthropic,
) -> None:
    text = "x" * (MAX_COUNTED_CHARACTERS + 1)
    with pytest.raises(anthropic.APIStatusError) as caught:
        await client.messages.count_tokens(model="gpt-4o", messages=[{"role": "user", "content": text}])
    assert caught.value.status_code == 413
    assert f"at most {MAX_COUNTED_CHARACTERS}" in str(caught.value)


@respx.mock(assert_all_mocked=False)
async def test_nesting_up_to_the_limit_is_forwarded(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        json={
            "id": "c",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
            ],
        }
    )
    # The body is level 1, the list level 2: MAX_JSON_DEPTH levels in all.
    body = body_text(CHAT, "gpt-4o", extra=f', "x_nested": {nested(MAX_JSON_DEPTH - 1)}')
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as client:
        response = await client.post(CHAT, content=body)
    assert response.status_code == 200, response.text
    assert json.loads(route.calls.last.request.content)["x_nested"] == json.loads(nested(MAX_JSON_DEPTH - 1))
