"""Retries before the first byte: 5xx with exponential backoff, and 429s, whose
``retry-after`` (seconds or an HTTP date; 0 is no wait) is waited out when it is short."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from routing import failover
from routing.failover import retry_after_seconds
from tests.gateway.conftest import make_provider
from tests.gateway.test_key_health import REPLY
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

SOLO_BASE = "http://solo.upstream.test/v1"
BODY = {"model": "solo:gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("0", 0.0),  # no wait, not "unsaid"
        ("7", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=20), usegmt=True), 20.0),
        ("Fri, 01 May 2026 12:00:30 -0000", 30.0),  # -0000: UTC
        (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),  # already passed
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_in_both_forms(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


@pytest.fixture
async def solo(providers: object) -> None:
    """One key, two retries."""
    await sync_to_async(make_provider)(
        "solo", base_url=SOLO_BASE, keys=("sk-test-solo-key-eeeeeeeeeeeeeeee",), max_retries=2
    )


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The attempt numbers the backoff was computed for (and no real waiting)."""
    attempts: list[int] = []

    def instant(attempt: int) -> float:
        attempts.append(attempt)
        return 0.0

    monkeypatch.setattr(failover, "_backoff_delay", instant)
    return attempts


def _upstream(respx_mock: respx.MockRouter, *answers: httpx.Response) -> respx.Route:
    return respx_mock.post(f"{SOLO_BASE}/chat/completions").mock(side_effect=list(answers))


async def _ask() -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return await http.post("/v1/messages", json=BODY)


def _error(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": f"scripted {status}"}}, headers=headers)


@respx.mock(assert_all_mocked=False)
async def test_5xx_twice_then_success_is_retried_with_backoff(
    respx_mock: respx.MockRouter, backoffs: list[int], solo: None
) -> None:
    route = _upstream(respx_mock, _error(500), _error(503), httpx.Response(200, json=REPLY))
    response = await _ask()
    assert response.status_code == 200
    assert route.call_count == 3
    assert backoffs == [0, 1]  # exponential: the second wait is computed for attempt 1


def test_backoff_grows_exponentially_with_jitter_up_to_the_ceiling() -> None:
    for attempt, ceiling in ((0, 0.25), (1, 0.5), (3, 2.0), (10, failover.BACKOFF_MAX_SECONDS)):
        for _ in range(20):
            assert ceiling / 2 <= failover._backoff_delay(attempt) <= ceiling


@respx.mock(assert_all_mocked=False)
async def test_single_key_429_with_retry_after_zero_is_retried_at_once(
    respx_mock: respx.MockRouter, backoffs: list[int], solo: None
) -> None:
    route = _upstream(respx_mock, _error(429, **{"retry-after": "0"}), httpx.Response(200, json=REPLY))
    started = time.monotonic()
    response = await _ask()
    assert response.status_code == 200
    assert route.call_count == 2
    assert time.monotonic() - started < 1  # 0 means now, not the 60 s default
    assert backoffs == []  # the upstream's own wait, not a backoff


@respx.mock(assert_all_mocked=False)
async def test_single_key_429_without_retry_after_is_retried_after_a_backoff(
    respx_mock: respx.MockRouter, backoffs: list[int], solo: None
) -> None:
    route = _upstream(respx_mock, _error(429), httpx.Response(200, json=REPLY))
    assert (await _ask()).status_code == 200
    assert route.call_count == 2
    assert backoffs == [0]


@pytest.mark.parametrize("retry_after", ["120", "date"])
@respx.mock(assert_all_mocked=False)
async def test_long_retry_after_is_returned_at_once_and_kept(
    respx_mock: respx.MockRouter, retry_after: str, solo: None
) -> None:
    if retry_after == "date":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    route = _upstream(respx_mock, _error(429, **{"retry-after": retry_after}))
    started = time.monotonic()
    response = await _ask()
    assert time.monotonic() - started < 1
    assert route.call_count == 1
    assert response.status_code == 429
    assert response.headers["retry-after"] == retry_after
    assert response.json()["error"]["type"] == "rate_limit_error"


@respx.mock(assert_all_mocked=False)
async def test_429_moves_to_a_key_that_is_not_cooling(respx_mock: respx.MockRouter) -> None:
    """Two keys (the ``mockai`` fixture): the first one's 429 sends the call to the second,
    without a wait and without spending a retry."""
    route = respx_mock.post("http://openai.upstream.test/v1/chat/completions").mock(
        side_effect=[_error(429, **{"retry-after": "30"}), httpx.Response(200, json=REPLY)]
    )
    body = {**BODY, "model": "mockai:gpt-4o"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        response = await http.post("/v1/messages", json=body)
    assert response.status_code == 200
    first, second = (call.request.headers["authorization"] for call in route.calls)
    assert first != second
