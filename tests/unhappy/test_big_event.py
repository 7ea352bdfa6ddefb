"""One huge upstream SSE event must not hold the other clients of the process: a real
gateway relays a 32 MiB single event (over the default 16 MiB cap: the stream ends with
an error event) and an 8 MiB one (under it: relayed whole) while another client polls
``/health``; its slowest answer is the figure."""

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import MockUpstream

pytestmark = pytest.mark.integration

GATEWAY_KEY = "vdm-big-event-gateway-key"
MIB = 1 << 20
HEALTH_BUDGET_SECONDS = 1.5  # main: 30 s (8 MiB, OpenAI door), over 60 s for the others
CASES = {  # door: (path, body, gateway model)
    "openai-door": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    "anthropic-door": (
        "/v1/messages",
        {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
    ),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, MockUpstream]]:
    with MockUpstream() as upstream:
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "VDM_DEFAULT_PROVIDER": "oai",
            "OAI_API_KEY": "sk-big-event-upstream-key-0123456789",
            "OAI_BASE_URL": upstream.base_url,
            "OAI_MAX_RETRIES": "0",
        }
        with GatewayProcess(tmp_path_factory.mktemp("big-event"), env) as gateway:
            yield gateway, upstream


def _stream(base_url: str, path: str, body: dict[str, object], into: dict[str, object]) -> None:
    headers = {"authorization": f"Bearer {GATEWAY_KEY}", "x-api-key": GATEWAY_KEY}
    payload = {**body, "model": "oai:gpt-x", "stream": True}
    with httpx.stream("POST", base_url + path, json=payload, headers=headers, timeout=60) as response:
        data = b"".join(response.iter_raw())
    into.update(status=response.status_code, size=len(data), tail=data[-400:])


def _slowest_health(base_url: str, stream: threading.Thread) -> float:
    slowest = 0.0
    with httpx.Client(timeout=60) as http:
        while stream.is_alive():
            started = time.perf_counter()
            assert http.get(base_url + "/health").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.02)
    return slowest


@pytest.mark.parametrize("size_mib", [8, 32])
@pytest.mark.parametrize("door", list(CASES))
def test_a_huge_single_event_does_not_hold_health(
    live: tuple[GatewayProcess, MockUpstream], door: str, size_mib: int
) -> None:
    gateway, mock = live
    mock.reset()
    mock.script([{"pad_bytes": size_mib * MIB}])
    path, body = CASES[door]
    seen: dict[str, object] = {}
    stream = threading.Thread(target=_stream, args=(gateway.base_url, path, body, seen))
    stream.start()
    slowest = _slowest_health(gateway.base_url, stream)
    stream.join()
    print(f"{door} {size_mib} MiB event: slowest /health {slowest * 1000:.0f} ms")  # noqa: T201  (the figure)
    assert seen["status"] == 200
    tail = bytes(seen["tail"])  # type: ignore[call-overload]
    if size_mib * MIB > 16 * MIB:
        assert b"larger than the gateway's limit" in tail
    else:
        assert b"error" not in tail
        assert int(seen["size"]) > size_mib * MIB  # type: ignore[call-overload]
    assert slowest < HEALTH_BUDGET_SECONDS
