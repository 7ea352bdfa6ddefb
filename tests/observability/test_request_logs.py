"""Request ids on every data-plane response, one access line per request, and no secret
in any log line, whichever path a key-shaped string takes."""

import json
import logging
import re

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from providers.models import Provider
from routing.snapshot import routing_snapshot
from routing.usage import usage_recorder
from teams.models import Team, UsageRecord
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE, OPENAI_KEYS, make_provider
from tests.observability.conftest import scrape
from tests.teams.test_usage import REPLY, STREAM
from vandamme.logs import JsonFormatter, TextFormatter

HEX_ID = re.compile(r"[0-9a-f]{32}")
PASS_BASE = "http://passthrough.upstream.test/v1"


def _body(model: str = "gpt-4o", *, stream: bool = False) -> dict[str, object]:
    return {"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "x"}]}


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "vandamme.access"]


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_every_response_carries_a_request_id_and_gets_one_access_line(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vandamme.access")
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    plain = await gateway_http.post("/v1/messages", json=_body(), headers={"x-request-id": "client-id-42"})
    route.respond(content=STREAM, headers={"content-type": "text/event-stream"})
    streamed = await gateway_http.post("/v1/messages", json=_body(stream=True))
    insane = await gateway_http.post("/v1/messages", content=b"[]", headers={"x-request-id": "has spaces"})
    missing = await gateway_http.get("/v1/nothing-here")
    health = await gateway_http.get("/health")

    assert plain.headers["x-request-id"] == "client-id-42"
    for response in (streamed, insane, missing, health):
        assert HEX_ID.fullmatch(response.headers["x-request-id"])
    assert insane.status_code == 400
    assert missing.status_code == 404

    lines = {r.fields["request_id"]: r.fields for r in _access_records(caplog)}  # type: ignore[attr-defined]
    assert set(lines) == {
        r.headers["x-request-id"] for r in (plain, streamed, insane, missing)
    }  # not /health
    first = lines["client-id-42"]
    assert (first["provider"], first["model"], first["team"], first["status"]) == (
        "mockai",
        "gpt-4o",
        "",
        200,
    )
    assert (first["input_tokens"], first["output_tokens"], first["cached_tokens"]) == (10, 3, 2)
    assert isinstance(first["latency_ms"], int)
    stream_line = lines[streamed.headers["x-request-id"]]
    assert (stream_line["streamed"], stream_line["input_tokens"], stream_line["output_tokens"]) == (
        True,
        7,
        4,
    )
    assert stream_line["ttft_ms"] >= 0
    assert "request body must be a JSON object" in lines[insane.headers["x-request-id"]]["error"]


def test_json_lines_carry_the_structured_fields_and_text_stays_readable() -> None:
    record = logging.LogRecord(
        "vandamme.access", logging.INFO, __file__, 1, "POST /v1/messages 200", (), None
    )
    record.fields = {"request_id": "abc", "status": 200, "provider": "openai"}
    record.request_id = "abc"
    parsed = json.loads(JsonFormatter().format(record))
    assert parsed["message"] == "POST /v1/messages 200"
    assert (parsed["level"], parsed["logger"], parsed["request_id"], parsed["status"]) == (
        "INFO",
        "vandamme.access",
        "abc",
        200,
    )
    other = logging.LogRecord(
        "routing.failover", logging.WARNING, __file__, 1, "key %s failed", ("k1",), None
    )
    other.request_id = "abc"
    assert TextFormatter().format(other).endswith("WARNING routing.failover key k1 failed [abc]")


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_no_secret_reaches_logs_metrics_or_usage_records(
    gateway_http: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    settings: object,
) -> None:
    caplog.set_level(logging.DEBUG)
    proxy_key = "vdm-proxy-key-0123456789abcdefghij"
    settings.PROXY_API_KEY = proxy_key  # type: ignore[attr-defined]
    team = await Team.objects.acreate(name="secretive")
    _, team_key = await sync_to_async(gateway_key_create)(team=team)
    await sync_to_async(make_provider)("passme", base_url=PASS_BASE, passthrough=True)
    wrong_client_key = "sk-client-wrong-key-zzzzzzzzzzzzzzzz"
    own_upstream_key = "sk-client-own-upstream-key-yyyyyyyyyy"
    secrets = [*OPENAI_KEYS, proxy_key, team_key, wrong_client_key, own_upstream_key]

    def echo_key(request: httpx.Request) -> httpx.Response:
        presented = request.headers["authorization"].removeprefix("Bearer ")
        message = (
            f"Incorrect API key provided: {presented}. Authorization: {request.headers['authorization']}"
        )
        return httpx.Response(401, json={"error": {"message": message}})

    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(side_effect=echo_key)
    respx_mock.post(f"{PASS_BASE}/chat/completions").mock(side_effect=echo_key)
    calls = [
        ({"x-api-key": proxy_key}, _body()),  # every pool key rejected, each echoed back
        ({"authorization": f"Bearer {team_key}"}, _body(stream=True)),
        ({"x-api-key": wrong_client_key}, _body()),  # a wrong gateway key
        ({"x-api-key": own_upstream_key, "x-gateway-key": team_key}, _body("passme:gpt-4o")),
    ]
    for headers, body in calls:
        response = await gateway_http.post("/v1/messages", json=body, headers=headers)
        assert response.status_code == 401
        assert not any(secret in response.text for secret in secrets)
    # A first chunk, then the error: an error in the first frame would be a 502 before the stream.
    first = b'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=first + b'data: {"error":{"message":"key ' + OPENAI_KEYS[1].encode() + b' revoked"}}\n\n',
        headers={"content-type": "text/event-stream"},
    )
    streamed = await gateway_http.post(
        "/v1/messages", json=_body(stream=True), headers={"x-api-key": proxy_key}
    )
    assert "event: error" in streamed.text
    metrics_text = (await gateway_http.get("/metrics")).text
    await usage_recorder.flush()
    stored_errors = [row.error async for row in UsageRecord.objects.all()]

    assert len(_access_records(caplog)) == len(calls) + 1
    assert any("rejected upstream" in error for error in stored_errors)
    everything = "\n".join(
        [
            *(TextFormatter().format(r) for r in caplog.records),
            *(JsonFormatter().format(r) for r in caplog.records),
            metrics_text,
            *stored_errors,
        ]
    )
    for secret in secrets:
        assert secret not in everything
    assert await sync_to_async(Provider.objects.filter(name="passme").exists)()


@pytest.mark.usefixtures("providers")
async def test_metrics_scrape_reads_no_database(gateway_http: httpx.AsyncClient) -> None:
    # The ORM raises SynchronousOnlyOperation on the event loop's thread (a 500 here), and
    # the scrape leaves the snapshot unbuilt: no query of any kind.
    await scrape(gateway_http)
    assert routing_snapshot.table is None


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_an_upstream_failure_is_logged_once_by_the_access_line_not_again_by_django(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(status_code=500, json={"error": "bad"})
    response = await gateway_http.post("/v1/messages", json=_body())
    assert response.status_code == 502
    assert [r for r in caplog.records if r.name == "django.request"] == []
    assert len(_access_records(caplog)) == 1
