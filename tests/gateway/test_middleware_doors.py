"""The middleware chain through both doors, whole and streamed: the official anthropic and
openai SDKs against the ASGI application, upstreams mocked by respx."""

import json
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import respx
from asgiref.sync import sync_to_async

from providers.models import Provider
from routing.snapshot import routing_snapshot
from teams.models import Team
from teams.services import gateway_key_create
from tests.gateway.chat_helpers import anthropic_message, anthropic_sse, openai_sse
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from tests.gateway.middleware_samples import RecordsContext
from vandamme.asgi import application

NOTE = {"path": "examples.middleware.SystemNote", "options": {"text": "Answer in English."}}
FOOTER = {"path": "examples.middleware.AnswerFooter", "options": {"text": " -- via vandamme"}}
GUARDRAIL = {"path": "routing.middleware.guardrail.Guardrail"}
REDACTOR = {"path": "routing.middleware.redactor.Redactor"}
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
PROMPT_WITH_SECRET = f"why does boto3 reject {AWS_KEY_ID}?"

OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


OPENAI_STREAM = openai_sse(
    _chunk({"role": "assistant", "content": "Hel"}),
    _chunk({"content": "lo"}),
    _chunk({}, "stop"),
    {**_chunk({}), "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}},
    "[DONE]",
)


def _anthropic_stream() -> bytes:
    start = {**anthropic_message([]), "stop_reason": None}
    block = {"type": "text", "text": ""}
    return anthropic_sse(
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
        ),
        ("message_stop", {"type": "message_stop"}),
    )


@sync_to_async
def use_middleware(providers: dict[str, Provider], *entries: dict[str, Any]) -> None:
    for provider in providers.values():
        provider.middleware = list(entries)
        provider.save()
    routing_snapshot.clear()


def mock_openai(respx_mock: respx.MockRouter) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(200, content=OPENAI_STREAM, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=OPENAI_REPLY)

    return respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(side_effect=answer)


def mock_anthropic(respx_mock: respx.MockRouter) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("stream"):
            return httpx.Response(
                200, content=_anthropic_stream(), headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=anthropic_message([{"type": "text", "text": "Hello"}]))

    return respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").mock(side_effect=answer)


def sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


async def ask_anthropic(client: anthropic.AsyncAnthropic, text: str, *, stream: bool) -> str:
    """The answer's text through the Anthropic door (Anthropic-format provider)."""
    arguments: dict[str, Any] = {
        "model": "mockant:claude-x",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": text}],
    }
    if not stream:
        message = await client.messages.create(**arguments)
    else:
        async with client.messages.stream(**arguments) as events:
            message = await events.get_final_message()
    return "".join(block.text for block in message.content if block.type == "text")


async def ask_openai(sdk: openai.AsyncOpenAI, text: str, *, stream: bool) -> str:
    """The answer's text through the OpenAI door (OpenAI-format provider)."""
    messages: Any = [{"role": "user", "content": text}]
    if not stream:
        completion = await sdk.chat.completions.create(model="mockai:gpt-4o", messages=messages)
        return completion.choices[0].message.content or ""
    chunks = await sdk.chat.completions.create(model="mockai:gpt-4o", messages=messages, stream=True)
    return "".join([chunk.choices[0].delta.content or "" async for chunk in chunks if chunk.choices])


STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_a_request_hook_changes_the_body_in_the_providers_dialect_on_the_anthropic_door(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    respx_mock: respx.MockRouter,
    stream: bool,
) -> None:
    await use_middleware(providers, NOTE)
    route = mock_anthropic(respx_mock)
    assert await ask_anthropic(client, "hi", stream=stream) == "Hello"
    assert sent(route)["system"] == "Answer in English."


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_a_request_hook_changes_the_body_in_the_providers_dialect_on_the_openai_door(
    providers: dict[str, Provider], openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, stream: bool
) -> None:
    await use_middleware(providers, NOTE)
    route = mock_openai(respx_mock)
    assert await ask_openai(openai_sdk, "hi", stream=stream) == "Hello"
    assert sent(route)["messages"][0] == {"role": "system", "content": "Answer in English."}


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_answer_hooks_change_whole_and_streamed_answers_on_the_anthropic_door(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    respx_mock: respx.MockRouter,
    stream: bool,
) -> None:
    await use_middleware(providers, FOOTER)
    mock_anthropic(respx_mock)
    assert await ask_anthropic(client, "hi", stream=stream) == "Hello -- via vandamme"


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_answer_hooks_change_whole_and_streamed_answers_on_the_openai_door(
    providers: dict[str, Provider], openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, stream: bool
) -> None:
    await use_middleware(providers, FOOTER)
    mock_openai(respx_mock)
    assert await ask_openai(openai_sdk, "hi", stream=stream) == "Hello -- via vandamme"


@respx.mock(assert_all_mocked=False)
async def test_a_stream_hook_drops_and_adds_events(
    providers: dict[str, Provider], gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    await use_middleware(providers, FOOTER)
    mock_anthropic(respx_mock)
    body = {
        "model": "mockant:claude-x",
        "max_tokens": 9,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = await gateway_http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
    names = [
        line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")
    ]
    assert "ping" not in names  # dropped
    assert names.count("content_block_start") == 2  # the footer's block added
    assert names[-2:] == ["message_delta", "message_stop"]


@pytest.mark.parametrize("door", ["anthropic", "openai"])
@STREAMED
@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_the_guardrail_refuses_a_secret_with_a_400_in_the_clients_dialect_and_nothing_leaves(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    door: str,
    stream: bool,
) -> None:
    await use_middleware(providers, GUARDRAIL)
    routes = [mock_anthropic(respx_mock), mock_openai(respx_mock)]
    error: anthropic.BadRequestError | openai.BadRequestError
    if door == "anthropic":
        with pytest.raises(anthropic.BadRequestError) as refused:
            await ask_anthropic(client, PROMPT_WITH_SECRET, stream=stream)
        error = refused.value
        assert error.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    else:
        with pytest.raises(openai.BadRequestError) as refused_openai:
            await ask_openai(openai_sdk, PROMPT_WITH_SECRET, stream=stream)
        error = refused_openai.value
    assert "guardrail.Guardrail" in error.message
    assert "'aws-access-key-id'" in error.message
    assert AWS_KEY_ID not in error.message
    assert all(not route.called for route in routes)


@pytest.mark.parametrize("door", ["anthropic", "openai"])
@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_the_redactor_masks_a_secret_before_it_leaves(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    door: str,
    stream: bool,
) -> None:
    await use_middleware(providers, REDACTOR)
    if door == "anthropic":
        route = mock_anthropic(respx_mock)
        assert await ask_anthropic(client, PROMPT_WITH_SECRET, stream=stream) == "Hello"
    else:
        route = mock_openai(respx_mock)
        assert await ask_openai(openai_sdk, PROMPT_WITH_SECRET, stream=stream) == "Hello"
    upstream_text = route.calls.last.request.content.decode()
    assert AWS_KEY_ID not in upstream_text
    assert sent(route)["messages"][0]["content"] == "why does boto3 reject [REDACTED:aws-access-key-id]?"


REQUEST_BOOM = {"path": "tests.gateway.middleware_samples.ExplodesOnRequest"}
ANSWER_BOOM = {"path": "tests.gateway.middleware_samples.ExplodesOnAnswer"}


@pytest.mark.parametrize("boom", [REQUEST_BOOM, ANSWER_BOOM], ids=["request", "answer"])
@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_a_failing_hook_refuses_with_a_clear_error_in_each_dialect_and_tries_no_fallback(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    boom: dict[str, Any],
) -> None:
    await use_middleware(providers, boom)
    anthropic_route, openai_route = mock_anthropic(respx_mock), mock_openai(respx_mock)
    with pytest.raises(anthropic.InternalServerError) as anthropic_error:
        await ask_anthropic(client, "hi", stream=False)
    with pytest.raises(openai.InternalServerError) as openai_error:
        await ask_openai(openai_sdk, "hi", stream=False)
    for message in (anthropic_error.value.message, openai_error.value.message):
        assert f"middleware '{boom['path']}' failed" in message
        assert "hook broke" in message
    assert anthropic_error.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    assert openai_error.value.body["type"] == "server_error"  # type: ignore[index]
    calls = anthropic_route.call_count + openai_route.call_count
    assert calls == (0 if boom is REQUEST_BOOM else 2)  # once each: no retry, no fallback


@pytest.mark.parametrize("boom", [REQUEST_BOOM, ANSWER_BOOM], ids=["request", "answer"])
@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_a_failing_hook_with_on_error_pass_lets_the_call_through(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    boom: dict[str, Any],
    stream: bool,
) -> None:
    await use_middleware(providers, {**boom, "on_error": "pass"}, FOOTER)
    mock_anthropic(respx_mock)
    mock_openai(respx_mock)
    assert await ask_anthropic(client, "hi", stream=stream) == "Hello -- via vandamme"
    assert await ask_openai(openai_sdk, "hi", stream=stream) == "Hello -- via vandamme"


@respx.mock(assert_all_mocked=False)
async def test_a_stream_hook_that_fails_mid_stream_ends_it_with_an_error_event_in_each_dialect(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
) -> None:
    await use_middleware(providers, ANSWER_BOOM)
    mock_anthropic(respx_mock)
    mock_openai(respx_mock)
    with pytest.raises(anthropic.APIStatusError, match="the stream hook broke"):
        await ask_anthropic(client, "hi", stream=True)
    with pytest.raises(openai.APIError, match="the stream hook broke"):
        await ask_openai(openai_sdk, "hi", stream=True)


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_a_teams_middleware_runs_after_the_providers_and_only_for_that_team(
    providers: dict[str, Provider], respx_mock: respx.MockRouter
) -> None:
    team_key = await _team_with_middleware([GUARDRAIL, RECORDS])
    other_key = await _team_with_middleware([], name="other")
    await use_middleware(providers, NOTE)
    route = mock_openai(respx_mock)
    RecordsContext.seen.clear()
    for key, expected in ((team_key, 400), (other_key, 200)):
        async with openai_client(key) as sdk:
            if expected == 400:
                with pytest.raises(openai.BadRequestError):
                    await ask_openai(sdk, PROMPT_WITH_SECRET, stream=False)
                assert await ask_openai(sdk, "hi", stream=True) == "Hello"
            else:
                assert await ask_openai(sdk, PROMPT_WITH_SECRET, stream=False) == "Hello"
    assert route.call_count == 2
    assert sent(route)["messages"][0]["role"] == "system"  # the provider's middleware ran too
    assert RecordsContext.seen == [("request", "chat_completions", "chat_completions", "guarded", True)]


RECORDS = {"path": "tests.gateway.middleware_samples.RecordsContext"}


@sync_to_async
def _team_with_middleware(entries: list[dict[str, Any]], name: str = "guarded") -> str:
    team = Team.objects.create(name=name, middleware=entries)
    routing_snapshot.clear()
    return gateway_key_create(team=team)[1]


def openai_client(key: str) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    return openai.AsyncOpenAI(api_key=key, base_url="http://gateway.test/v1", http_client=http, max_retries=0)


MCP_TOOL = "mcp.fs.read"


@sync_to_async
def _sanitizing(providers: dict[str, Provider]) -> None:
    for provider in providers.values():
        provider.tool_name_sanitization = True
        provider.save()
    routing_snapshot.clear()


def _openai_tool_call_answer(request: httpx.Request) -> httpx.Response:
    call = {"id": "call_1", "type": "function", "function": {"name": "mcp_fs_read", "arguments": "{}"}}
    if not json.loads(request.content).get("stream"):
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        reply = {**OPENAI_REPLY, "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
        return httpx.Response(200, json=reply)
    stream = openai_sse(
        _chunk({"role": "assistant", "tool_calls": [{"index": 0, **call}]}),
        _chunk({}, "tool_calls"),
        "[DONE]",
    )
    return httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})


def _anthropic_tool_use_answer(request: httpx.Request) -> httpx.Response:
    block = {"type": "tool_use", "id": "toolu_1", "name": "mcp_fs_read", "input": {}}
    if not json.loads(request.content).get("stream"):
        return httpx.Response(200, json=anthropic_message([block], stop_reason="tool_use"))
    start = {**anthropic_message([]), "stop_reason": None}
    stream = anthropic_sse(
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        ),
        ("message_stop", {"type": "message_stop"}),
    )
    return httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_built_in_tool_name_sanitization_renames_up_and_restores_down_on_the_anthropic_door(
    providers: dict[str, Provider],
    client: anthropic.AsyncAnthropic,
    respx_mock: respx.MockRouter,
    stream: bool,
) -> None:
    """Anthropic client, OpenAI-format provider: the translated body renamed, the
    translated answer's tool_use named as the client declared it."""
    await _sanitizing(providers)
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(side_effect=_openai_tool_call_answer)
    arguments: dict[str, Any] = {
        "model": "mockai:gpt-4o",
        "max_tokens": 50,
        "tools": [{"name": MCP_TOOL, "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "read"}],
    }
    if stream:
        async with client.messages.stream(**arguments) as events:
            message = await events.get_final_message()
    else:
        message = await client.messages.create(**arguments)
    assert [block.name for block in message.content if block.type == "tool_use"] == [MCP_TOOL]
    assert sent(route)["tools"][0]["function"]["name"] == "mcp_fs_read"


@STREAMED
@respx.mock(assert_all_mocked=False)
async def test_built_in_tool_name_sanitization_renames_up_and_restores_down_on_the_openai_door(
    providers: dict[str, Provider], openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, stream: bool
) -> None:
    """OpenAI client, Anthropic-format provider: the translated body renamed, the
    translated answer's tool call named as the client declared it."""
    await _sanitizing(providers)
    route = respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").mock(side_effect=_anthropic_tool_use_answer)
    tools: Any = [{"type": "function", "function": {"name": MCP_TOOL, "parameters": {"type": "object"}}}]
    messages: Any = [{"role": "user", "content": "read"}]
    if stream:
        chunks = await openai_sdk.chat.completions.create(
            model="mockant:claude-x", tools=tools, messages=messages, stream=True
        )
        names = [
            call.function.name
            async for chunk in chunks
            if chunk.choices
            for call in chunk.choices[0].delta.tool_calls or []
            if call.function and call.function.name
        ]
    else:
        completion = await openai_sdk.chat.completions.create(
            model="mockant:claude-x", tools=tools, messages=messages
        )
        names = [
            call.function.name
            for call in completion.choices[0].message.tool_calls or []
            if call.type == "function"
        ]
    assert names == [MCP_TOOL]
    assert sent(route)["tools"][0]["name"] == "mcp_fs_read"
