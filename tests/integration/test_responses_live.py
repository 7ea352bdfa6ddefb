"""The Responses door against real servers: a daphne-served gateway and the mock upstream on
127.0.0.1 speaking Chat Completions (translated), Anthropic Messages (translated) and the
Responses API (passthrough), driven by the official openai SDK's ``responses.create`` and
``responses.stream``. Text arrives, the final response is completed with usage, a usage row
is written for each call, and the client's key never goes upstream."""

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import INPUT_TOKENS, REPLY_TEXT, MockUpstream

pytestmark = pytest.mark.integration

GATEWAY_KEY = "vdm-live-responses-gateway-key"
UPSTREAM_KEYS = {
    "oai": "sk-live-chat-upstream-key-0123456789",
    "ant": "sk-ant-live-upstream-key-0123456789",
    "rsp": "sk-live-responses-upstream-key-0123456789",
}
# family -> (model the client names, the upstream path the mock must see)
FAMILIES = {
    "chat": ("oai:mock-model", "/v1/chat/completions"),
    "anthropic": ("ant:claude-x", "/v1/messages"),
    "responses": ("rsp:gpt-x", "/v1/responses"),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, MockUpstream, Path]]:
    with MockUpstream() as upstream:
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "VDM_DEFAULT_PROVIDER": "oai",
            "OAI_API_KEY": UPSTREAM_KEYS["oai"],
            "OAI_BASE_URL": upstream.base_url,
            "OAI_MAX_RETRIES": "0",
            "ANT_API_KEY": UPSTREAM_KEYS["ant"],
            "ANT_BASE_URL": upstream.origin,
            "ANT_API_FORMAT": "anthropic",
            "ANT_MAX_RETRIES": "0",
            "RSP_API_KEY": UPSTREAM_KEYS["rsp"],
            "RSP_BASE_URL": upstream.base_url,
            "RSP_RESPONSES_API": "true",
            "RSP_MAX_RETRIES": "0",
        }
        tmp = tmp_path_factory.mktemp("responses-door")
        with GatewayProcess(tmp, env) as gateway:
            yield gateway, upstream, tmp / "gateway.sqlite3"


@pytest.fixture
def mock(live: tuple[GatewayProcess, MockUpstream, Path]) -> Iterator[MockUpstream]:
    live[1].reset()
    yield live[1]
    live[1].reset()


@pytest.fixture
def client(live: tuple[GatewayProcess, MockUpstream, Path]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key=GATEWAY_KEY, base_url=f"{live[0].base_url}/v1", max_retries=0) as sdk:
        yield sdk


def _usage_rows(database: Path, model: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT status, streamed, input_tokens, output_tokens FROM teams_usagerecord"
            " WHERE model_requested = ? ORDER BY id",
            (model,),
        ).fetchall()


def _await_rows(database: Path, model: str, count: int) -> list[tuple[Any, ...]]:
    """The usage rows of ``model`` once ``count`` are written (the recorder flushes each second)."""
    deadline = time.monotonic() + 15
    rows = _usage_rows(database, model)
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = _usage_rows(database, model)
    return rows


def _check_upstream(mock: MockUpstream, family: str, streamed: bool) -> None:
    model, path = FAMILIES[family]
    [request] = [r for r in mock.requests() if r["method"] == "POST"]
    assert request["path"] == path
    assert request["json"]["model"] == model.split(":", 1)[1]
    assert bool(request["json"].get("stream")) is streamed
    headers = request["headers"]
    assert UPSTREAM_KEYS[model.split(":")[0]] in headers.get("authorization", "") + headers.get(
        "x-api-key", ""
    )
    assert GATEWAY_KEY not in str(headers)
    assert GATEWAY_KEY not in request["body"]


@pytest.mark.parametrize("family", FAMILIES)
def test_stream(
    client: openai.OpenAI, mock: MockUpstream, live: tuple[GatewayProcess, MockUpstream, Path], family: str
) -> None:
    model, _ = FAMILIES[family]
    before = len(_usage_rows(live[2], model))
    with client.responses.stream(model=model, input="hi", store=False) as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) >= 2  # streamed in pieces, not one lump
    assert "".join(deltas) == final.output_text
    assert final.output_text
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.input_tokens == INPUT_TOKENS
    assert final.usage.output_tokens > 0
    _check_upstream(mock, family, streamed=True)
    rows = _await_rows(live[2], model, before + 1)
    assert len(rows) == before + 1
    status, streamed, input_tokens, output_tokens = rows[-1]
    assert (status, bool(streamed), output_tokens) == (200, True, final.usage.output_tokens)
    assert input_tokens == INPUT_TOKENS - final.usage.input_tokens_details.cached_tokens


@pytest.mark.parametrize("family", FAMILIES)
def test_create(
    client: openai.OpenAI, mock: MockUpstream, live: tuple[GatewayProcess, MockUpstream, Path], family: str
) -> None:
    model, _ = FAMILIES[family]
    before = len(_usage_rows(live[2], model))
    response = client.responses.create(model=model, input=[{"role": "user", "content": "hi"}])
    assert response.output_text == REPLY_TEXT
    assert response.status == "completed"
    assert response.usage is not None
    assert response.usage.input_tokens == INPUT_TOKENS
    assert response.usage.output_tokens > 0
    _check_upstream(mock, family, streamed=False)
    rows = _await_rows(live[2], model, before + 1)
    assert len(rows) == before + 1
    assert rows[-1][:2] == (200, False)
    assert rows[-1][3] == response.usage.output_tokens
