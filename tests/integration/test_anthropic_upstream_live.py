"""An Anthropic-format upstream on 127.0.0.1 behind a daphne-served gateway: the body goes
up unchanged but for the model, the SSE stream comes back byte for byte."""

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess, free_port

pytestmark = pytest.mark.integration

STREAM_BODY = {"max_tokens": 30, "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def anthropic_upstream() -> Iterator[str]:
    port = free_port()
    mock = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "bench" / "mock_upstream.py"), str(port), "5", "5"]
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{base_url}/v1/messages/count_tokens", json={}, timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base_url
    mock.terminate()
    mock.wait()


@pytest.fixture(scope="module")
def gateway(anthropic_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    env = {
        "ANT_API_KEY": "sk-ant-upstream",
        "ANT_BASE_URL": anthropic_upstream,
        "ANT_API_FORMAT": "anthropic",
    }
    with GatewayProcess(tmp_path_factory.mktemp("ant"), env) as process:
        yield process


def test_create_and_stream_with_the_sdk(gateway: GatewayProcess) -> None:
    client = anthropic.Anthropic(api_key="client", base_url=gateway.base_url, max_retries=0)
    message = client.messages.create(
        model="claude-x", max_tokens=30, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the bench"
    with client.messages.stream(
        model="ant:claude-x", max_tokens=30, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "".join(f"tok{i} " for i in range(5))
    assert final.stop_reason == "end_turn"


def test_stream_is_relayed_byte_for_byte(gateway: GatewayProcess, anthropic_upstream: str) -> None:
    direct = httpx.post(
        f"{anthropic_upstream}/v1/messages", json={**STREAM_BODY, "model": "claude-x"}
    ).content
    relayed = httpx.post(
        f"{gateway.base_url}/v1/messages?beta=true", json={**STREAM_BODY, "model": "ant:claude-x"}
    )
    assert relayed.status_code == 200
    assert relayed.content == direct


def test_count_tokens_goes_to_the_provider(gateway: GatewayProcess) -> None:
    client = anthropic.Anthropic(api_key="client", base_url=gateway.base_url, max_retries=0)
    counted = client.messages.count_tokens(model="ant:claude-x", messages=[{"role": "user", "content": "hi"}])
    assert counted.input_tokens == 42


def test_errors_come_back_in_anthropic_format(gateway: GatewayProcess, tmp_path: Path) -> None:
    client = anthropic.Anthropic(api_key="client", base_url=gateway.base_url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="ant:claude-x", max_tokens=0, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 400
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
