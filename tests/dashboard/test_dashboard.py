"""The staff dashboard: behind the admin login, figures from the usage records, fast on
100 000 rows, linked from the admin index, live streams over an authenticated WebSocket."""

import json
import time
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client
from django.utils import timezone

from dashboard.consumers import LiveStreamsConsumer
from providers.models import LoadStatus, ProviderLoadResult
from providers.services import api_key_create
from routing.stream_watch import live_streams, new_stream_watch
from teams.models import UsageRecord
from tests.gateway.conftest import make_provider

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/dashboard/"


def _record(minutes_ago: float, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "provider": "openai",
        "model_requested": "gpt-4o",
        "model_served": "gpt-4o",
        "status": 200,
        "latency_ms": 300,
        "input_tokens": 10,
        "output_tokens": 5,
    }
    values.update(fields)
    return UsageRecord(created_at=timezone.now() - timedelta(minutes=minutes_ago), **values)


def test_anonymous_visitors_are_sent_to_the_admin_login(client: Client) -> None:
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_index_links_to_the_dashboard(admin_client: Client) -> None:
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert f'href="{DASHBOARD}"' in response.content.decode()


def test_figures_come_from_the_usage_records(admin_client: Client) -> None:
    UsageRecord.objects.bulk_create(
        [
            _record(1, team_name="alpha"),
            _record(2, team_name="alpha", status=502, error="upstream provider 'openai' answered 500: boom"),
            _record(3, provider="anthropic", input_tokens=7, cached_tokens=3, ttft_ms=120, streamed=True),
            _record(300, team_name="alpha"),  # in the day, not the hour
        ]
    )
    provider = make_provider(
        "openai", base_url="http://openai.test/v1", keys=("sk-dash-key-0000000000000001",)
    )
    key = provider.keys.get()
    key.consecutive_failures, key.cooldown_until = 2, timezone.now() + timedelta(minutes=1)
    key.save()
    api_key_create(provider=provider, secret="sk-dash-key-0000000000000002")
    ProviderLoadResult.objects.create(
        provider_name="gemini", status=LoadStatus.INACTIVE, message="no API key configured"
    )

    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    usage = response.context["usage"]
    assert usage["hour"]["provider"]["totals"]["openai"]["requests"] == 2
    assert usage["hour"]["provider"]["totals"]["openai"]["errors"] == 1
    assert usage["day"]["provider"]["totals"]["openai"]["requests"] == 3
    assert usage["hour"]["provider"]["totals"]["anthropic"]["cached_tokens"] == 3
    assert usage["hour"]["provider"]["totals"]["anthropic"]["ttft_avg_ms"] == 120
    assert usage["day"]["team"]["totals"]["alpha"]["requests"] == 3
    html = response.content.decode()
    assert 'id="totals-hour-provider"' in html
    assert "answered 500: boom" in html  # recent errors
    assert "cooling" in html  # key pools
    assert "no API key configured" in html  # load summary
    assert "sk-dash-key-000000000000000" not in html
    chart_data = html.split('id="usage-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(chart_data) == json.loads(json.dumps(usage))  # what the charts draw


def test_the_page_is_fast_with_100_000_usage_rows(admin_client: Client) -> None:
    teams, providers = ("", "alpha", "beta", "gamma"), ("openai", "anthropic", "groq")
    rows = [
        _record(
            (index % 1380) + 0.5,  # inside the day window (23 whole hours and this one)
            provider=providers[index % 3],
            team_name=teams[index % 4],
            status=502 if index % 10 == 0 else 200,
            latency_ms=50 + index % 4000,
        )
        for index in range(100_000)
    ]
    UsageRecord.objects.bulk_create(rows, batch_size=2000)
    admin_client.get(DASHBOARD)  # templates compiled, connection open: time the steady state
    started = time.perf_counter()
    response = admin_client.get(DASHBOARD)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    day = response.context["usage"]["day"]["provider"]["totals"]
    assert sum(total["requests"] for total in day.values()) == 100_000
    assert elapsed < 1.0, f"dashboard took {elapsed:.2f}s with 100 000 rows"


@pytest.mark.django_db(transaction=True)
async def test_live_streams_reach_staff_over_the_websocket() -> None:
    staff = await User.objects.acreate(username="staff", is_staff=True, is_active=True)
    watch = new_stream_watch(
        provider="openai", model="gpt-4o", team="alpha", started=0.0, account=lambda *a: None
    )
    live_streams.add(watch)
    communicator = WebsocketCommunicator(LiveStreamsConsumer.as_asgi(), "/admin/dashboard/streams")
    communicator.scope["user"] = staff
    try:
        connected, _ = await communicator.connect()
        assert connected
        message = json.loads(await communicator.receive_from(timeout=3))
        assert message["type"] == "streams"
        assert [(s["provider"], s["model"], s["team"]) for s in message["streams"]] == [
            ("openai", "gpt-4o", "alpha")
        ]
    finally:
        live_streams.discard(watch)
        await communicator.disconnect()


@pytest.mark.parametrize("user", [AnonymousUser(), User(username="visitor", is_staff=False, is_active=True)])
async def test_the_websocket_refuses_anyone_but_staff(user: object) -> None:
    communicator = WebsocketCommunicator(LiveStreamsConsumer.as_asgi(), "/admin/dashboard/streams")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4403
