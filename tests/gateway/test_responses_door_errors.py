"""/v1/responses when things go wrong, and the door's policies: upstream errors before the
stream (OpenAI's envelope, the upstream's status), an error or a cut in mid-stream (one
``response.failed``, accounted as an error), hosted tools dropped with a header or refused by
the provider's or the team's policy, aliases and fallbacks to an Anthropic provider."""

import json
from typing import Any

import httpx
import openai
import pytest
import respx

from aliases.models import Alias
from providers.models import Provider
from routing.errors import map_upstream_status
from routing.usage import UsageEvent
from teams.models import Team
from teams.services import gateway_key_create
from tests.gateway.responses_door_helpers import (
    ANT_URL,
    CHAT_URL,
    FUNCTION_TOOL,
    NATIVE_URL,
    SECRETS,
    ant_sse,
    ant_start,
    ant_text_stream,
    chat_chunk,
    chat_sse,
    chat_text_stream,
    door_events,
    door_stream,
    families,
    native_text_stream,
    sent_body,
)

__all__ = ["families"]

SSE = {"content-type": "text/event-stream"}
MODELS = {
    "chat": ("chatty:up-model", CHAT_URL),
    "native": ("native:gpt-5", NATIVE_URL),
    "anthropic": ("anty:claude-sonnet-4-5", ANT_URL),
}
WEB_SEARCH = {"type": "web_search"}


@pytest.fixture
def respx_mock() -> Any:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


def _upstream_error(family: str, status: int) -> dict[str, Any]:
    if family == "anthropic":
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": f"upstream says {status} {SECRETS[2]}"}}
    return {
        "error": {"message": f"upstream says {status} {SECRETS[0]}", "type": "server_error", "code": None}
    }


@pytest.mark.parametrize("status", [429, 500])
@pytest.mark.parametrize("family", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_error_before_the_answer_comes_in_openai_envelope(
    family: str,
    status: int,
    stream: bool,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    recorded_usage: list[UsageEvent],
) -> None:
    model, url = MODELS[family]
    respx_mock.post(url).respond(status, json=_upstream_error(family, status))
    answer = await gateway_http.post("/v1/responses", json={"model": model, "input": "Hi", "stream": stream})
    error = answer.json()["error"]
    assert f"upstream says {status}" in error["message"]
    status = map_upstream_status(status)  # the gateway's rule: an upstream 500 is a 502
    assert answer.status_code == status
    assert isinstance(error["type"], str)
    assert not any(secret in answer.text for secret in SECRETS)
    [event] = recorded_usage
    assert event.status == status


async def test_the_sdk_raises_its_own_errors(
    families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    respx_mock.post(ANT_URL).respond(429, json=_upstream_error("anthropic", 429))
    with pytest.raises(openai.RateLimitError):
        await openai_sdk.responses.create(model="anty:claude-sonnet-4-5", input="Hi")
    respx_mock.post(CHAT_URL).respond(500, json=_upstream_error("chat", 500))
    with pytest.raises(openai.InternalServerError):
        async with openai_sdk.responses.stream(model="chatty:up-model", input="Hi") as stream:
            await stream.get_final_response()


MID_STREAM_ERRORS = {
    "chat": chat_sse(
        chat_chunk({"role": "assistant", "content": "Hel"}),
        {"error": {"message": f"overloaded {SECRETS[0]}", "type": "server_error", "code": "overloaded"}},
        done=False,
    ),
    "anthropic": ant_sse(
        ant_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        {"type": "error", "error": {"type": "overloaded_error", "message": f"overloaded {SECRETS[2]}"}},
    ),
}
CUT_SHORT = {
    "chat": chat_text_stream("Hel", "lo").split(
        b'data: {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "up", "choices": [{"index": 0, "delta": {}'
    )[0],
    "anthropic": ant_text_stream("Hel", "lo").split(b"event: content_block_stop")[0],
}


@pytest.mark.parametrize("family", ["chat", "anthropic"])
@pytest.mark.parametrize("upstreams", [MID_STREAM_ERRORS, CUT_SHORT], ids=["error", "cut"])
async def test_a_stream_that_errs_or_stops_short_ends_in_response_failed(
    family: str,
    upstreams: dict[str, bytes],
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    openai_sdk: openai.AsyncOpenAI,
    recorded_usage: list[UsageEvent],
) -> None:
    model, url = MODELS[family]
    respx_mock.post(url).respond(content=upstreams[family], headers=SSE)
    answer = await door_stream(gateway_http, {"model": model, "input": "Hi"})
    events, response = door_events(answer)
    assert events[-1]["type"] == "response.failed"
    assert response["error"]["message"]
    assert not any(secret in answer.text for secret in SECRETS)
    [event] = recorded_usage
    assert event.status >= 400
    assert event.streamed
    # The SDK sees the failure, not a completed answer.
    async with openai_sdk.responses.stream(model=model, input="Hi") as stream:
        types = [e.type async for e in stream]
    assert types[-1] == "response.failed"


async def test_a_native_stream_with_response_failed_is_accounted_as_an_error(
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    recorded_usage: list[UsageEvent],
) -> None:
    failed = native_text_stream().replace(b'"type": "response.completed"', b'"type": "response.failed"')
    failed = failed.replace(b"event: response.completed", b"event: response.failed")
    respx_mock.post(NATIVE_URL).respond(content=failed, headers=SSE)
    answer = await door_stream(gateway_http, {"model": "native:gpt-5", "input": "Hi"})
    assert answer.status_code == 200
    [event] = recorded_usage
    assert event.status == 502


@pytest.mark.parametrize("family", ["chat", "anthropic"])
async def test_hosted_tools_are_dropped_with_a_header(
    family: str, families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    model, url = MODELS[family]
    upstream = chat_text_stream("ok") if family == "chat" else ant_text_stream("ok")
    route = respx_mock.post(url).respond(content=upstream, headers=SSE)
    raw = await openai_sdk.responses.with_raw_response.create(
        model=model,
        input="Hi",
        stream=True,
        tools=[FUNCTION_TOOL, WEB_SEARCH],
    )
    assert raw.headers["x-vandamme-dropped-tools"] == "web_search"
    async for _ in raw.parse():
        pass
    tools = json.dumps(sent_body(route)["tools"])
    assert "exec_command" in tools
    assert "web_search" not in tools


async def test_the_native_provider_gets_hosted_tools_unchanged(
    families: dict[str, Provider], respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    route = respx_mock.post(NATIVE_URL).respond(content=native_text_stream(), headers=SSE)
    answer = await door_stream(gateway_http, {"model": "native:gpt-5", "input": "Hi", "tools": [WEB_SEARCH]})
    assert "x-vandamme-dropped-tools" not in answer.headers
    assert sent_body(route)["tools"] == [WEB_SEARCH]


def _refused(answer: httpx.Response, index: int = 1) -> None:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == f"tools.{index}"
    assert "web_search" in error["message"]


@pytest.mark.parametrize("family", ["chat", "anthropic"])
async def test_a_provider_that_refuses_hosted_tools_answers_400(
    family: str, families: dict[str, Provider], respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    provider = families[family]
    provider.hosted_tools = "refuse"
    await provider.asave()
    model, url = MODELS[family]
    route = respx_mock.post(url).respond(content=b"", headers=SSE)
    body = {"model": model, "input": "Hi", "tools": [FUNCTION_TOOL, WEB_SEARCH]}
    _refused(await door_stream(gateway_http, body))
    _refused(await gateway_http.post("/v1/responses", json=body))
    assert not route.called


@pytest.fixture
def team_keys(families: dict[str, Provider]) -> dict[str, str]:
    """A team that refuses hosted tools, one that drops them, and a key for each."""
    refusing = Team.objects.create(name="strict", hosted_tools="refuse")
    dropping = Team.objects.create(name="loose", hosted_tools="drop")
    return {"refuse": gateway_key_create(team=refusing)[1], "drop": gateway_key_create(team=dropping)[1]}


async def test_a_team_policy_decides_over_the_provider(
    families: dict[str, Provider],
    team_keys: dict[str, str],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
) -> None:
    respx_mock.post(CHAT_URL).respond(content=chat_text_stream("ok"), headers=SSE)
    body = {"model": "chatty:up-model", "input": "Hi", "tools": [WEB_SEARCH]}
    refused = await door_stream(gateway_http, body, authorization=f"Bearer {team_keys['refuse']}")
    _refused(refused, index=0)
    provider = families["chat"]
    provider.hosted_tools = "refuse"
    await provider.asave()
    dropped = await door_stream(gateway_http, body, authorization=f"Bearer {team_keys['drop']}")
    assert dropped.headers["x-vandamme-dropped-tools"] == "web_search"
    door_events(dropped)


async def test_an_alias_to_an_anthropic_provider(
    families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    route = respx_mock.post(ANT_URL).respond(content=ant_text_stream("aliased"), headers=SSE)
    async with openai_sdk.responses.stream(model="claude-alias", input="Hi") as stream:
        final = await stream.get_final_response()
    assert final.output_text == "aliased"
    assert final.model == "claude-alias"  # the name the client used
    assert sent_body(route)["model"] == "claude-sonnet-4-5"


@pytest.fixture
def fallback_alias(families: dict[str, Provider]) -> None:
    Alias.objects.create(name="sturdy", target="chatty:up-model", fallbacks=["claude-alias"])


@pytest.mark.usefixtures("fallback_alias")
@pytest.mark.parametrize("stream", [False, True])
async def test_a_failing_chat_provider_falls_back_to_anthropic(
    stream: bool,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    recorded_usage: list[UsageEvent],
) -> None:
    respx_mock.post(CHAT_URL).respond(503, json=_upstream_error("chat", 503))
    if stream:
        respx_mock.post(ANT_URL).respond(content=ant_text_stream("rescued"), headers=SSE)
        answer = await door_stream(gateway_http, {"model": "sturdy", "input": "Hi"})
        _, response = door_events(answer)
    else:
        from tests.gateway.responses_door_helpers import ant_message

        respx_mock.post(ANT_URL).respond(json=ant_message([{"type": "text", "text": "rescued"}]))
        answer = await gateway_http.post("/v1/responses", json={"model": "sturdy", "input": "Hi"})
        assert answer.status_code == 200, answer.text
        response = answer.json()
    assert response["output"][-1]["content"][0]["text"] == "rescued"
    assert answer.headers["x-vandamme-provider"] == "anty"
    assert [event.status for event in recorded_usage][-1] == 200
