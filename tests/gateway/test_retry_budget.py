"""The gateway's retries do not multiply the client's: a retry budget per provider,
``x-stainless-retry-count`` honoured, and ``x-should-retry: false`` on the answer once
the gateway has had its say on a transient failure."""

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from routing import failover
from routing.retry_budget import BALANCE_CAP, RetryBudget, client_is_retrying, retry_budgets
from tests.gateway.conftest import make_provider
from tests.gateway.test_key_health import REPLY
from tests.gateway.test_retries import BODY, SOLO_BASE, _error, _upstream
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers", "solo", "no_backoff")


@pytest.fixture
async def solo(providers: object) -> None:
    """One key, two retries (three tries)."""
    await sync_to_async(make_provider)(
        "solo", base_url=SOLO_BASE, keys=("sk-test-solo-key-eeeeeeeeeeeeeeee",), max_retries=2
    )


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failover, "_backoff_delay", lambda attempt: 0.0)


async def _ask(path: str = "/v1/messages", **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return await http.post(path, json=BODY, headers=headers)


def _always(respx_mock: respx.MockRouter, status: int) -> respx.Route:
    return respx_mock.post(f"{SOLO_BASE}/chat/completions").mock(return_value=_error(status))


def test_a_budget_allows_a_fraction_of_requests_as_retries(settings: object) -> None:
    settings.VANDAMME_RETRY_BUDGET_RATIO = 0.2  # type: ignore[attr-defined]
    settings.VANDAMME_RETRY_BUDGET_MIN_PER_SECOND = 0.0  # type: ignore[attr-defined]
    budget = RetryBudget(now=0.0)
    assert sum(budget.withdraw(0.0) for _ in range(100)) == BALANCE_CAP  # what a burst can spend
    for _ in range(50):  # 50 requests earn 10 retries
        budget.deposit()
    assert sum(budget.withdraw(0.0) for _ in range(100)) == 10


def test_the_reserve_refills_with_time_up_to_the_cap(settings: object) -> None:
    settings.VANDAMME_RETRY_BUDGET_MIN_PER_SECOND = 0.5  # type: ignore[attr-defined]
    budget = RetryBudget(now=0.0)
    while budget.withdraw(0.0):
        pass
    assert not budget.withdraw(1.0)  # half a retry earned
    assert budget.withdraw(2.0)  # one whole
    assert sum(budget.withdraw(3600.0) for _ in range(100)) == BALANCE_CAP  # an hour banks no more


@pytest.mark.parametrize(
    ("header", "retrying"), [(None, False), ("0", False), ("1", True), (" 3 ", True), ("x", False)]
)
def test_the_sdk_retry_count_says_whether_the_client_is_retrying(header: str | None, retrying: bool) -> None:
    assert client_is_retrying(header) is retrying


@respx.mock(assert_all_mocked=False)
async def test_a_dead_upstream_is_tried_three_times_and_the_client_told_not_to_retry(
    respx_mock: respx.MockRouter,
) -> None:
    route = _always(respx_mock, 500)
    response = await _ask()
    assert route.call_count == 3  # max_retries=2
    assert response.status_code == 502
    assert response.headers["x-should-retry"] == "false"
    message = response.json()["error"]["message"]
    assert message == "upstream provider 'solo' answered 500: scripted 500 (after 3 tries)"


@respx.mock(assert_all_mocked=False)
async def test_the_openai_door_says_do_not_retry_too(respx_mock: respx.MockRouter) -> None:
    _always(respx_mock, 503)
    response = await _ask("/v1/chat/completions")
    assert response.status_code == 503  # OpenAI's status for an overloaded upstream
    assert response.headers["x-should-retry"] == "false"
    assert "upstream provider 'solo' answered 503" in response.json()["error"]["message"]


@respx.mock(assert_all_mocked=False)
async def test_a_client_retrying_by_its_own_count_gets_one_try_and_keeps_its_loop(
    respx_mock: respx.MockRouter,
) -> None:
    route = _always(respx_mock, 500)
    response = await _ask(**{"x-stainless-retry-count": "2"})
    assert route.call_count == 1
    assert response.status_code == 502
    assert "x-should-retry" not in response.headers
    assert response.json()["error"]["message"] == "upstream provider 'solo' answered 500: scripted 500"


@respx.mock(assert_all_mocked=False)
async def test_a_first_try_by_the_sdk_count_is_retried(respx_mock: respx.MockRouter) -> None:
    route = _upstream(respx_mock, _error(500), httpx.Response(200, json=REPLY))
    response = await _ask(**{"x-stainless-retry-count": "0"})
    assert response.status_code == 200
    assert route.call_count == 2


@respx.mock(assert_all_mocked=False)
async def test_a_spent_budget_makes_the_first_failure_final(
    respx_mock: respx.MockRouter, settings: object
) -> None:
    settings.VANDAMME_RETRY_BUDGET_MIN_PER_SECOND = 0.0  # type: ignore[attr-defined]
    retry_budgets.for_provider("solo").empty()
    route = _always(respx_mock, 500)
    response = await _ask()
    assert route.call_count == 1
    assert response.headers["x-should-retry"] == "false"  # retrying would only add load


@respx.mock(assert_all_mocked=False)
async def test_sustained_failures_cost_at_most_the_budget_in_retries(
    respx_mock: respx.MockRouter, settings: object
) -> None:
    settings.VANDAMME_RETRY_BUDGET_MIN_PER_SECOND = 0.0  # type: ignore[attr-defined]
    route = _always(respx_mock, 502)
    requests = 50
    for _ in range(requests):
        assert (await _ask()).status_code == 502
    # Without a budget: 150 calls. With it: the 10 banked plus a fifth of the requests.
    assert route.call_count <= requests + BALANCE_CAP + requests * 0.2
    assert route.call_count >= requests + BALANCE_CAP


@respx.mock(assert_all_mocked=False)
async def test_a_failure_the_gateway_does_not_retry_says_nothing_about_retrying(
    respx_mock: respx.MockRouter,
) -> None:
    _always(respx_mock, 400)
    response = await _ask()
    assert response.status_code == 400
    assert "x-should-retry" not in response.headers
