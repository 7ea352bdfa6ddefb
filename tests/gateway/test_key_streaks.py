"""A key is disabled only after 401/403 answers IN A ROW: a success ends the streak (in
memory and in the database, written once, not on every success), and 429s never count."""

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings

from providers.models import ApiKey
from routing import failover
from tests.gateway.conftest import make_provider
from tests.gateway.test_key_health import REPLY
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

SOLO_BASE = "http://solo.upstream.test/v1"
SOLO_KEY = "sk-test-solo-key-dddddddddddddddd"
BODY = {"model": "solo:gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}


@pytest.fixture(autouse=True)
async def solo(settings: Settings, providers: object) -> None:
    """A provider with one key and no retries: every request is one upstream call."""
    settings.VANDAMME_KEY_COOLDOWN_SECONDS = 0  # the key is tried again at once
    await sync_to_async(make_provider)("solo", base_url=SOLO_BASE, keys=(SOLO_KEY,), max_retries=0)


def _answers(*statuses: int) -> respx.MockRouter:
    """The upstream answers these statuses in order, one per call."""
    replies = iter(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(replies)
        if status == 200:
            return httpx.Response(200, json=REPLY)
        headers = {"retry-after": "0"} if status == 429 else {}
        return httpx.Response(status, json={"error": {"message": f"scripted {status}"}}, headers=headers)

    router = respx.mock(assert_all_mocked=False)
    router.post(f"{SOLO_BASE}/chat/completions").mock(side_effect=answer)
    return router


async def _ask_times(count: int) -> list[int]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return [(await http.post("/v1/messages", json=BODY)).status_code for _ in range(count)]


async def _solo_key() -> ApiKey:
    await failover.key_state_writes_done()
    return await ApiKey.objects.aget(last4=SOLO_KEY[-4:])


async def test_rejections_separated_by_successes_never_disable_the_key() -> None:
    rounds = failover.KEY_DISABLE_AFTER + 2
    with _answers(*([401, 200] * rounds)):
        assert await _ask_times(2 * rounds) == [401, 200] * rounds
    key = await _solo_key()
    assert key.enabled
    assert key.consecutive_failures == 0  # the last success ended the streak in the database too
    assert key.last_failure_status == 401  # the last failure is still shown


async def test_rejections_in_a_row_disable_the_key() -> None:
    with _answers(*([401] * failover.KEY_DISABLE_AFTER)):
        await _ask_times(failover.KEY_DISABLE_AFTER)
    key = await _solo_key()
    assert key.enabled is False
    assert key.consecutive_failures == failover.KEY_DISABLE_AFTER


async def test_rate_limits_do_not_count_toward_disabling() -> None:
    # max_retries=0: a 429 is answered at once, so each request is one call.
    statuses = [429] * failover.KEY_DISABLE_AFTER + [401]
    with _answers(*statuses):
        assert await _ask_times(len(statuses)) == statuses
    key = await _solo_key()
    assert key.enabled
    assert key.consecutive_failures == 1
    assert key.last_failure_status == 401


async def test_successes_write_nothing_once_the_streak_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    record_success = failover.api_key_record_success

    def counting(*, key_id: int) -> None:
        writes.append(key_id)
        record_success(key_id=key_id)

    monkeypatch.setattr(failover, "api_key_record_success", counting)
    with _answers(200, 200, 401, 200, 200, 200):
        await _ask_times(6)
    await failover.key_state_writes_done()
    assert len(writes) == 1  # only the success right after the failure
