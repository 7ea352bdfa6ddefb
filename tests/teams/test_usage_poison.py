"""One bad usage record never stops the others: values are clamped on the way in, a
deleted team's records keep its name, and a row the database still refuses goes to the
dead-letter table while every row around it is written. Runs on SQLite and PostgreSQL."""

import json

import anthropic
import httpx
import openai
import pytest
import respx
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

from routing import usage_writer
from routing.usage import UsageEvent, usage_recorder
from teams.models import Team, UsageDeadLetter, UsageRecord
from teams.services import gateway_key_create
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from vandamme.asgi import application

INT_MAX = 2147483647  # the narrowest integer column (PostgreSQL's integer)
HUGE = 18446744073709551616  # 2**64


def _openai_reply(prompt_tokens: str) -> bytes:
    """A chat completion whose usage carries ``prompt_tokens`` verbatim (raw JSON text)."""
    return (
        b'{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":'
        + prompt_tokens.encode()
        + b',"completion_tokens":3}}'
    )


def _anthropic_reply(input_tokens: str) -> bytes:
    return (
        b'{"id":"msg_1","type":"message","role":"assistant","model":"claude",'
        b'"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",'
        b'"usage":{"input_tokens":' + input_tokens.encode() + b',"output_tokens":-7}}'
    )


async def _ask_messages(client: anthropic.AsyncAnthropic, model: str, count: int) -> None:
    for _ in range(count):
        answer = await client.messages.create(
            model=model, max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.content[0].type == "text"


@pytest.mark.parametrize("bad", [str(HUGE), str(-HUGE), "1e400", "12.5", '"12"', "null", "[1]"])
@respx.mock(assert_all_mocked=False)
async def test_an_upstream_usage_out_of_range_does_not_stop_usage_recording(
    providers: object,
    respx_mock: respx.MockRouter,
    client: anthropic.AsyncAnthropic,
    openai_sdk: openai.AsyncOpenAI,
    bad: str,
    settings: object,
) -> None:
    settings.VANDAMME_USAGE_FLUSH_SECONDS = 600  # type: ignore[attr-defined]  # one write, below
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    ant = respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages")
    route.respond(content=_openai_reply(bad), headers={"content-type": "application/json"})
    ant.respond(content=_anthropic_reply(bad), headers={"content-type": "application/json"})
    await _ask_messages(client, "gpt-4o", 1)  # the poison answers first, through each door
    await _ask_messages(client, "mockant:claude", 1)
    await openai_sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    route.respond(content=_openai_reply("12"), headers={"content-type": "application/json"})
    await _ask_messages(client, "gpt-4o", 20)  # and healthy ones queue behind it

    assert await usage_recorder.flush() == 23
    assert usage_recorder.pending == 0
    rows = [row async for row in UsageRecord.objects.order_by("created_at", "id")]
    assert len(rows) == 23
    assert all(0 <= r.input_tokens <= INT_MAX and 0 <= r.output_tokens <= INT_MAX for r in rows)
    if bad == str(HUGE):
        assert [r.input_tokens for r in rows[:3]] == [INT_MAX, INT_MAX, INT_MAX]
    assert [r.input_tokens for r in rows[3:]] == [12] * 20
    assert await UsageDeadLetter.objects.acount() == 0


@respx.mock(assert_all_mocked=False)
async def test_a_team_deleted_while_its_records_are_buffered_keeps_its_name(
    providers: object, respx_mock: respx.MockRouter, settings: object
) -> None:
    settings.VANDAMME_USAGE_FLUSH_SECONDS = 600  # type: ignore[attr-defined]
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=_openai_reply("12"), headers={"content-type": "application/json"}
    )
    doomed = await Team.objects.acreate(name="doomed")
    staying = await Team.objects.acreate(name="staying")
    doomed_record, doomed_key = await sync_to_async(gateway_key_create)(team=doomed)
    _, staying_key = await sync_to_async(gateway_key_create)(team=staying)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        for key in [staying_key, doomed_key, staying_key, doomed_key, staying_key]:
            body = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
            assert (await http.post("/v1/messages", json=body, headers={"x-api-key": key})).status_code == 200
    assert usage_recorder.pending == 5
    await doomed.adelete()  # its key goes with it; its 2 records are still in memory

    assert await usage_recorder.flush() == 5
    rows = [(r.team_name, r.team_id, r.key_prefix) async for r in UsageRecord.objects.order_by("id")]
    assert [(name, team_id) for name, team_id, _ in rows] == [
        ("staying", staying.pk),
        ("doomed", None),
        ("staying", staying.pk),
        ("doomed", None),
        ("staying", staying.pk),
    ]
    assert rows[1][2] == rows[3][2] == doomed_record.prefix  # the deleted key's prefix is kept
    assert await UsageDeadLetter.objects.acount() == 0


def _record_off_the_loop(events: list[UsageEvent]) -> None:
    """Buffer without starting the flusher (it would write concurrently with the test's
    flush, which an in-memory SQLite refuses with "database table is locked")."""
    for event in events:
        usage_recorder.record(event)


def _events(count: int) -> list[UsageEvent]:
    return [
        UsageEvent("p", f"m{index:04d}", "m", 200, 1, False, input_tokens=index) for index in range(count)
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_row_the_database_refuses_is_dead_lettered_and_every_other_row_written(
    settings: object,
) -> None:
    settings.VANDAMME_USAGE_BATCH = 500  # type: ignore[attr-defined]
    events = _events(1000)
    # A value that got past the clamp (as before it existed): the driver or the database
    # refuses this row for real (OverflowError on SQLite, DataError on PostgreSQL).
    events[10].input_tokens = HUGE
    events[777].status = -1
    await sync_to_async(_record_off_the_loop)(events)

    assert await usage_recorder.flush() == 998
    assert usage_recorder.pending == 0
    assert await UsageRecord.objects.acount() == 998
    assert not await UsageRecord.objects.filter(model_requested__in=["m0010", "m0777"]).aexists()
    letters = [letter async for letter in UsageDeadLetter.objects.order_by("id")]
    assert [json.loads(letter.event)["model_requested"] for letter in letters] == ["m0010", "m0777"]
    assert json.loads(letters[0].event)["input_tokens"] == HUGE
    assert all(letter.error_class and letter.created_at for letter in letters)


@pytest.mark.django_db(transaction=True)
async def test_a_database_error_that_is_not_about_the_rows_keeps_the_batch_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []
    real_write = usage_writer.write

    def down_once(events: list[UsageEvent]) -> None:
        attempts.append(len(events))
        if len(attempts) == 1:
            raise OperationalError("connection refused")
        real_write(events)

    monkeypatch.setattr(usage_writer, "write", down_once)
    for event in _events(7):
        usage_recorder.record(event)
    assert await usage_recorder.flush() == 0
    assert usage_recorder.pending == 7  # not split, not dead-lettered: kept for the next flush
    assert await usage_recorder.flush() == 7
    assert attempts == [7, 7]
    assert await UsageDeadLetter.objects.acount() == 0


def test_the_event_clamps_every_column_on_the_way_in() -> None:
    event = UsageEvent(
        provider="p" * 100,
        model_requested="bad\x00name\udc80" + "x" * 400,
        model_served=None,
        status=10**6,
        latency_ms=-3,
        streamed=False,
        input_tokens=HUGE,
        output_tokens=1.5,
        cached_tokens="12",
        ttft_ms=True,
        team_id="7",
        key_prefix="vdm-" * 10,
    )
    assert (event.status, event.latency_ms) == (32767, 0)
    assert (event.input_tokens, event.output_tokens, event.cached_tokens, event.ttft_ms) == (INT_MAX, 0, 0, 0)
    assert (event.provider, event.model_served, event.team_id) == ("p" * 63, "", None)
    assert event.model_requested.startswith("badname?x")
    assert len(event.model_requested) == 300
    assert len(event.key_prefix) == 12
    assert UsageEvent.from_json(json.loads(json.dumps(event.as_json()))) == event


@pytest.mark.django_db
def test_the_dead_letters_are_shown_read_only_in_the_admin(admin_client: Client) -> None:
    event = UsageEvent("openai", "gpt-4o", "gpt-4o", 200, 5, False)
    letter = UsageDeadLetter.objects.create(
        event=json.dumps(event.as_json()), error_class="DataError", error="integer out of range"
    )
    listing = admin_client.get(reverse("admin:teams_usagedeadletter_changelist"))
    assert listing.status_code == 200
    assert "integer out of range" in listing.content.decode()
    page = admin_client.get(reverse("admin:teams_usagedeadletter_change", args=[letter.pk]))
    assert page.status_code == 200
    assert "gpt-4o" in page.content.decode()
    assert admin_client.get(reverse("admin:teams_usagedeadletter_add")).status_code == 403
