"""The stream-fault matrix: every stream-level upstream fault × both SDKs (anthropic on
``/v1/messages``, openai on ``/v1/chat/completions``) × both upstream formats (the
OpenAI-format and the Anthropic-format mock) × both servers (daphne, uvicorn), against
a real gateway process and the mock upstream on 127.0.0.1.

Each case must end the way its fault allows: a fault that leaves a whole answer
(invalid UTF-8, split frames, a big event under the cap) completes with the whole text;
one that breaks the answer (a cut, a reset, a short body, an event over the cap, an
upstream error event) makes the SDK raise a clean ``APIError`` — never a hang, a
connection error, a stray exception (garbage), or a truncated or empty "success". An
upstream error that quotes a key reaches the client without it.
"""

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import REPLY_TEXT, MockUpstream
from tests.mock_upstream.replies import anthropic_stream_parts, openai_stream_parts

pytestmark = pytest.mark.integration

OPENAI_KEY = "sk-proj-streamfaultopenaikey0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-streamfaultanthropickey0123456789"
GATEWAY_KEY = "vdm-stream-faults-gateway-key"
LEAKED = "sk-proj-LEAKEDkeyshouldnotreachclients0123"
EVENT_CAP = 1 << 20  # VANDAMME_MAX_SSE_EVENT_BYTES for this gateway
CLIENT_TIMEOUT = 20.0
HI: list[Any] = [{"role": "user", "content": "hi"}]
UPSTREAM_MODEL = "mock-model"


@dataclass(frozen=True)
class Fault:
    name: str
    spec: Callable[[str], dict[str, Any]]  # upstream format -> response spec
    completes: str | None  # the text the client must get, or None: it must get an APIError


def _parts(upstream: str) -> tuple[bytes, tuple[bytes, ...], bytes]:
    if upstream == "openai":
        return openai_stream_parts(UPSTREAM_MODEL, 3, True)
    return anthropic_stream_parts(UPSTREAM_MODEL, 3)


def _openai_chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": UPSTREAM_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _bad_utf8(upstream: str) -> dict[str, Any]:
    """The default answer with an invalid byte in the middle of the first text delta."""
    head, deltas, tail = _parts(upstream)
    broken = deltas[0].replace(b"Hello", b"He\xffllo")
    return {"raw_b64": [base64.b64encode(p).decode() for p in (head, broken, *deltas[1:], tail)]}


def _error_event(upstream: str) -> dict[str, Any]:
    head, deltas, _ = _parts(upstream)
    message = f"Incorrect API key provided: {LEAKED} ({OPENAI_KEY} / {ANTHROPIC_KEY})"
    if upstream == "openai":
        error = (
            b"data: " + json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
        )
    else:
        payload = {"type": "error", "error": {"type": "authentication_error", "message": message}}
        error = b"event: error\ndata: " + json.dumps(payload).encode()
    return {"raw_b64": [base64.b64encode(p).decode() for p in (head, deltas[0], error + b"\n\n")]}


def _head_and(upstream: str, delta_fraction: float) -> int:
    head, deltas, _ = _parts(upstream)
    return len(head) + int(len(deltas[0]) * delta_fraction)


FAULTS = [
    Fault("invalid_utf8", _bad_utf8, "He\ufffdllo from mock"),
    Fault("split_frames", lambda upstream: {"split": 3}, REPLY_TEXT),
    Fault(
        "big_event_under_cap",
        lambda upstream: {"pad_bytes": EVENT_CAP // 2},
        "x" * (EVENT_CAP // 2) + REPLY_TEXT,
    ),
    Fault("cut_mid_event", lambda upstream: {"cut_after_bytes": _head_and(upstream, 0.5)}, None),
    Fault("reset_after_events", lambda upstream: {"reset_after": 2}, None),
    Fault("short_body_mid_event", lambda upstream: {"end_after_bytes": _head_and(upstream, 0.5)}, None),
    Fault("short_body_whole_events", lambda upstream: {"end_after_bytes": _head_and(upstream, 1.0)}, None),
    Fault("event_over_cap", lambda upstream: {"pad_bytes": EVENT_CAP * 2}, None),
    Fault("error_event_with_key", _error_event, None),
]


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GatewayProcess, MockUpstream]]:
    with MockUpstream() as upstream:
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "VDM_DEFAULT_PROVIDER": "oai",
            "OAI_API_KEY": OPENAI_KEY,
            "OAI_BASE_URL": upstream.base_url,
            "OAI_MAX_RETRIES": "0",
            "ANT_API_KEY": ANTHROPIC_KEY,
            "ANT_BASE_URL": upstream.origin,
            "ANT_API_FORMAT": "anthropic",
            "ANT_MAX_RETRIES": "0",
            "VANDAMME_MAX_SSE_EVENT_BYTES": str(EVENT_CAP),
        }
        tmp = tmp_path_factory.mktemp(f"stream-faults-{request.param}")
        with GatewayProcess(tmp, env, server=request.param) as gateway:
            yield gateway, upstream


def _openai_text(base_url: str, model: str) -> str:
    with openai.OpenAI(
        api_key=GATEWAY_KEY, base_url=f"{base_url}/v1", max_retries=0, timeout=CLIENT_TIMEOUT
    ) as client:
        stream = client.chat.completions.create(model=model, messages=HI, stream=True)
        # The ordinary loop: every chunk has a choice (no usage-only chunk was asked for).
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream)


def _anthropic_text(base_url: str, model: str) -> str:
    with (
        anthropic.Anthropic(
            api_key=GATEWAY_KEY, base_url=base_url, max_retries=0, timeout=CLIENT_TIMEOUT
        ) as client,
        client.messages.stream(model=model, max_tokens=64, messages=HI) as stream,
    ):
        return "".join(stream.text_stream)


def outcome(sdk: str, base_url: str, model: str) -> tuple[str, str]:
    """What the client saw: ("text", the text) or ("api_error" | "connection_error" |
    "hang" | "garbage", detail)."""
    read = _openai_text if sdk == "openai" else _anthropic_text
    timeouts = (openai.APITimeoutError, anthropic.APITimeoutError, httpx.TimeoutException)
    connection = (openai.APIConnectionError, anthropic.APIConnectionError, httpx.TransportError)
    try:
        return "text", read(base_url, model)
    except timeouts as exc:
        return "hang", repr(exc)
    except connection as exc:
        return "connection_error", repr(exc)
    except (openai.APIError, anthropic.APIError) as exc:
        return "api_error", str(exc)
    except Exception as exc:  # what the test is here to catch: anything but a clean error
        return "garbage", repr(exc)


@pytest.mark.parametrize("upstream", ["openai", "anthropic"])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_stream_fault(
    live: tuple[GatewayProcess, MockUpstream], fault: Fault, sdk: str, upstream: str
) -> None:
    gateway, mock = live
    mock.reset()
    path = "/v1/chat/completions" if upstream == "openai" else "/v1/messages"
    mock.script([{**fault.spec(upstream), "match": {"path": path}}])
    model = "oai:gpt-x" if upstream == "openai" else "ant:claude-x"
    kind, detail = outcome(sdk, gateway.base_url, model)
    if fault.completes is None:
        assert kind == "api_error", f"{kind}: {detail[:300]}"
        assert "[DONE]" not in detail
    else:
        assert (kind, detail) == ("text", fault.completes), f"{kind}: {detail[:300]}"
    for secret in (LEAKED, OPENAI_KEY, ANTHROPIC_KEY):
        assert secret not in detail
