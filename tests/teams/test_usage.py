"""Usage accounting: every proxied request is recorded, in batches, off the request path."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from django.db import OperationalError

from routing import usage_writer
from routing.usage import UsageEvent, usage_recorder
from teams.models import GatewayKey, Team, UsageRecord
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE
from vandamme.asgi import application

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 2}},
}
STREAM = (
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n'
    b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":4}}\n\n'
    b"data: [DONE]\n\n"
)


async def _ask(http: httpx.AsyncClient, *, stream: bool = False, key: str | None = None) -> httpx.Response:
    body = {
        "model": "gpt-4o",
        "max_tokens": 5,
        "stream": stream,
        "messages": [{"role": "user", "content": "x"}],
    }
    return await http.post("/v1/messages", json=body, headers={"x-api-key": key} if key else {})


def _gateway() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://gw")


@respx.mock(assert_all_mocked=False)
async def test_a_burst_of_200_is_recorded_completely_in_batches(
    providers: object, respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    batches: list[int] = []
    real_write = usage_writer.write

    def counting_write(events: list[UsageEvent]) -> None:
        batches.append(len(events))
        real_write(events)

    monkeypatch.setattr(usage_writer, "write", counting_write)
    team = await Team.objects.acreate(name="burst")
    _, key = await sync_to_async(gateway_key_create)(team=team)
    async with _gateway() as http:
        responses = await asyncio.gather(*(_ask(http, key=key) for _ in range(200)))
    assert all(r.status_code == 200 for r in responses)
    await usage_recorder.flush()
    assert await UsageRecord.objects.acount() == 200
    assert sum(batches) == 200
    assert len(batches) < 20  # batched, not one write per request
    record = await UsageRecord.objects.afirst()
    assert record is not None
    assert (record.input_tokens, record.output_tokens, record.cached_tokens) == (10, 3, 2)
    assert (record.team_name, record.provider, record.model_requested, record.status) == (
        "burst",
        "mockai",
        "gpt-4o",
        200,
    )
    assert record.team_id == team.pk
    assert (await GatewayKey.objects.aget(team=team)).last_used_at is not None


@respx.mock(assert_all_mocked=False)
async def test_streams_and_errors_are_recorded(providers: object, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.respond(content=STREAM, headers={"content-type": "text/event-stream"})
    async with _gateway() as http:
        assert (await _ask(http, stream=True)).status_code == 200
        route.respond(400, json={"error": {"message": "bad"}})
        assert (await _ask(http)).status_code == 400
    await usage_recorder.flush()
    rows = [row async for row in UsageRecord.objects.order_by("created_at")]
    assert [(r.streamed, r.status) for r in rows] == [(True, 200), (False, 400)]
    assert (rows[0].input_tokens, rows[0].output_tokens) == (7, 4)


@pytest.mark.django_db(transaction=True)
async def test_a_failed_write_keeps_the_records_for_the_next_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    failures = iter([OperationalError("database is locked")])
    real_write = usage_writer.write

    def flaky(events: list[UsageEvent]) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real_write(events)

    monkeypatch.setattr(usage_writer, "write", flaky)
    for index in range(3):
        usage_recorder.record(UsageEvent("p", f"m{index}", "m", 200, 1, False))
    assert await usage_recorder.flush() == 0
    assert usage_recorder.pending == 3
    assert await usage_recorder.flush() == 3
    assert [r.model_requested async for r in UsageRecord.objects.order_by("model_requested")] == [
        "m0",
        "m1",
        "m2",
    ]


def test_the_buffer_is_bounded(settings: object) -> None:
    settings.VANDAMME_USAGE_BUFFER = 5  # type: ignore[attr-defined]
    for index in range(8):
        usage_recorder.record(UsageEvent("p", f"m{index}", "m", 200, 1, False))
    assert usage_recorder.pending == 5
    assert usage_recorder.dropped == 3
    usage_recorder.dropped = 0


@pytest.mark.django_db
def test_a_written_record_keeps_every_field() -> None:
    team = Team.objects.create(name="research")
    key, _plaintext = gateway_key_create(team=team)
    when = datetime(2026, 12, 2, 15, 4, 5, 678000, tzinfo=UTC)
    event = UsageEvent(
        provider="openai",
        model_requested="fast",
        model_served="gpt-4o-mini",
        status=502,
        latency_ms=1234,
        streamed=True,
        input_tokens=12,
        output_tokens=34,
        cached_tokens=5,
        ttft_ms=56,
        error="upstream stream failed (ReadError)",
        team_id=team.pk,
        team_name="research",
        key_prefix=key.prefix,
        key_id=key.pk,
        created_at=when,
    )
    usage_writer.write([event, UsageEvent(provider="p", model_requested="m", model_served="m", status=200,
                                    latency_ms=1, streamed=False, created_at=when - timedelta(1))])  # fmt: skip
    record, plain = UsageRecord.objects.order_by("id")
    expected = {name: value for name, value in vars_of(event).items() if name != "key_id"}
    assert {name: getattr(record, name) for name in expected} == expected
    assert (plain.team_id, plain.ttft_ms, plain.streamed, plain.error) == (None, None, False, "")
    key.refresh_from_db()
    assert key.last_used_at == when


def vars_of(event: UsageEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__dataclass_fields__}
