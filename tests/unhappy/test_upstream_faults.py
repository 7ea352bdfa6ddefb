"""Broken upstreams through both SDKs: every fault ends in an error of the client's dialect
with the status that says what happened (502 broken, 504 too slow, 429 throttled), never a
500 of ours, an empty 200 or a hang; failed streams are accounted as failures.

The upstream is ``tests.unhappy.fault_server`` (a raw socket on 127.0.0.1); the model a
request names is the fault. Connection-level faults run on both upstream transports.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest

from routing.errors import scrub_secrets
from routing.failover import MAX_RETRY_AFTER_SECONDS, retry_after_seconds
from routing.usage import UsageEvent
from tests.unhappy.conftest import TOTAL_TIMEOUT
from tests.unhappy.fault_server import QUOTA_NAME, RETRY_AFTER_HUGE, FaultServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fault_providers")]

HELLO = [{"role": "user", "content": "hi"}]
HANG = 8.0  # seconds: a gateway that hangs fails the test instead of hanging it
IN_STREAM = 200  # the status an SDK sees for an error event inside a 200 stream


@dataclass
class Outcome:
    status: int  # the HTTP status, or IN_STREAM for an error event in a stream
    error_type: str
    message: str
    body: dict[str, Any]
    code: str | None = None


async def via_anthropic(client: anthropic.AsyncAnthropic, model: str, *, stream: bool = False) -> Outcome:
    try:
        async with asyncio.timeout(HANG):
            if stream:
                async with client.messages.stream(model=model, max_tokens=20, messages=HELLO) as events:
                    await events.get_final_message()
            else:
                await client.messages.create(model=model, max_tokens=20, messages=HELLO)
    except anthropic.APIStatusError as exc:
        caught = exc
    else:
        return Outcome(200, "", "", {})
    body = caught.body if isinstance(caught.body, dict) else {}
    assert body.get("type") == "error", f"not Anthropic's error shape: {caught.body!r}"
    error = body["error"]
    return Outcome(caught.status_code, error["type"], error["message"], body)


async def via_openai(sdk: openai.AsyncOpenAI, model: str, *, stream: bool = False) -> Outcome:
    try:
        async with asyncio.timeout(HANG):
            if stream:
                chunks = await sdk.chat.completions.create(model=model, messages=HELLO, stream=True)
                async for _ in chunks:
                    pass
            else:
                await sdk.chat.completions.create(model=model, messages=HELLO)
    except openai.APIError as exc:
        caught = exc
    else:
        return Outcome(200, "", "", {})
    body = caught.body if isinstance(caught.body, dict) else {}
    assert {"message", "type"} <= set(body), f"not OpenAI's error shape: {caught.body!r}"
    status = caught.status_code if isinstance(caught, openai.APIStatusError) else IN_STREAM
    return Outcome(status, str(body["type"]), str(body["message"]), body, body.get("code"))


async def outcome(door: str, sdks: tuple[Any, Any], model: str, *, stream: bool = False) -> Outcome:
    client, sdk = sdks
    if door == "anthropic":
        return await via_anthropic(client, model, stream=stream)
    return await via_openai(sdk, model, stream=stream)


@pytest.fixture
def sdks(client: anthropic.AsyncAnthropic, openai_sdk: openai.AsyncOpenAI) -> tuple[Any, Any]:
    return client, openai_sdk


DOORS = ("anthropic", "openai")
CONNECTION_FAULTS = {
    "reset-after-headers": 502,
    "short-body": 502,
    "stall-headers": 504,
    "stall-body": 504,
    "garbage-status": 502,
    "huge-header": 502,
}
ANTHROPIC_TYPES = {502: "api_error", 504: "api_error", 429: "rate_limit_error"}
OPENAI_TYPES = {502: "server_error", 504: "server_error"}


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fo", "fa", "fb", "fv"])
@pytest.mark.parametrize("fault", CONNECTION_FAULTS)
async def test_a_broken_whole_answer_is_a_502_and_a_stall_a_504(
    sdks: tuple[Any, Any], door: str, provider: str, fault: str
) -> None:
    started = time.monotonic()
    result = await outcome(door, sdks, f"{provider}:{fault}")
    assert result.status == CONNECTION_FAULTS[fault], result
    expected_type = ANTHROPIC_TYPES if door == "anthropic" else OPENAI_TYPES
    assert result.error_type == expected_type[result.status]
    assert f"'{provider}'" in result.message  # names the provider at fault
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fo", "fa"])
async def test_a_retry_after_of_ten_to_the_twelve_is_a_plain_429(
    sdks: tuple[Any, Any], door: str, provider: str
) -> None:
    result = await outcome(door, sdks, f"{provider}:retry-after-huge")
    assert result.status == 429, result
    assert result.error_type == ("rate_limit_error" if door == "anthropic" else "requests")


def test_retry_after_is_clamped() -> None:
    assert retry_after_seconds(RETRY_AFTER_HUGE) == MAX_RETRY_AFTER_SECONDS
    assert retry_after_seconds("1e400") is None  # inf: unreadable


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fo", "fa"])
@pytest.mark.parametrize("fault", ["empty-choice", "null-message", "non-text-content"])
async def test_an_answer_without_a_usable_message_is_a_502_not_an_empty_200(
    sdks: tuple[Any, Any],
    recorded_usage: list[UsageEvent],
    door: str,
    provider: str,
    fault: str,
    stream: bool,
) -> None:
    result = await outcome(door, sdks, f"{provider}:{fault}", stream=stream)
    assert result.status == 502, result
    assert any(word in result.message for word in ("without", "unusable", "not an event stream"))
    assert [event.status for event in recorded_usage] == [502]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fo", "fa"])
async def test_a_drip_under_the_gap_timeout_ends_at_the_total_deadline(
    sdks: tuple[Any, Any], recorded_usage: list[UsageEvent], door: str, provider: str, stream: bool
) -> None:
    """A byte every 0.25 s never trips the 0.6 s gap timeout; the 1.5 s deadline ends it
    (a stream's first event arrives at once, then the drip)."""
    started = time.monotonic()
    result = await outcome(door, sdks, f"{provider}:drip", stream=stream)
    elapsed = time.monotonic() - started
    if not stream:
        assert result.status == 504, result
        assert "ran past its total deadline (1.5 s)" in result.message
        assert [event.status for event in recorded_usage] == [504]
    else:  # the first event was relayed: an error event ends the stream, counted as a 504
        assert result.status == IN_STREAM, result
        assert "ran past its deadline" in result.message
        assert [event.status for event in recorded_usage] == [504]
    expected_type = ANTHROPIC_TYPES if door == "anthropic" else OPENAI_TYPES
    assert result.error_type == expected_type[504]
    assert TOTAL_TIMEOUT <= elapsed < TOTAL_TIMEOUT + 1.5


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fo", "fa"])
async def test_a_stream_that_stalls_after_its_first_event_is_a_gap_timeout_counted_as_504(
    sdks: tuple[Any, Any],
    recorded_usage: list[UsageEvent],
    caplog: pytest.LogCaptureFixture,
    door: str,
    provider: str,
) -> None:
    """Silence after the first event trips the 0.6 s gap timeout: a timeout, not a break."""
    with caplog.at_level("INFO", logger="vandamme.access"):
        result = await outcome(door, sdks, f"{provider}:stall-mid-stream", stream=True)
    assert result.status == IN_STREAM, result
    assert "upstream stream timed out" in result.message
    expected_type = ANTHROPIC_TYPES if door == "anthropic" else OPENAI_TYPES
    assert result.error_type == expected_type[504]
    assert [event.status for event in recorded_usage] == [504]
    [line] = [record for record in caplog.records if record.name == "vandamme.access"]
    assert "stream_status=504" in line.getMessage()


THROTTLED_TYPE = {"anthropic": "rate_limit_error", "openai": "requests"}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fb", "fv"])
async def test_a_throttle_mid_stream_is_a_rate_limit_error_and_counted_as_one(
    sdks: tuple[Any, Any], recorded_usage: list[UsageEvent], door: str, provider: str
) -> None:
    result = await outcome(door, sdks, f"{provider}:throttle-mid", stream=True)
    assert result.status == IN_STREAM, result
    assert result.error_type == THROTTLED_TYPE[door]
    if door == "openai":
        assert result.code == "rate_limit_exceeded"
    if provider == "fv":  # the quota a user must ask to raise is named, not redacted
        assert QUOTA_NAME in result.message
    [event] = recorded_usage
    assert event.status == 429
    assert "Bedrock throttlingException" in event.error or QUOTA_NAME in event.error


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("provider", ["fb", "fv"])
async def test_a_throttle_in_the_first_frame_is_an_http_429(
    sdks: tuple[Any, Any], recorded_usage: list[UsageEvent], door: str, provider: str
) -> None:
    result = await outcome(door, sdks, f"{provider}:throttle-first", stream=True)
    assert result.status == 429, result
    assert result.error_type == THROTTLED_TYPE[door]
    if provider == "fv":
        assert QUOTA_NAME in result.message
    assert [event.status for event in recorded_usage] == [429]


@pytest.mark.parametrize("door", DOORS)
async def test_a_first_frame_throttle_rotates_to_the_next_key(
    sdks: tuple[Any, Any], faults: FaultServer, door: str
) -> None:
    result = await outcome(door, sdks, "fb:throttle-first-once", stream=True)
    assert result.status == 200, result
    assert faults.served == ["throttle-first-once", "throttle-first-once"]


@pytest.mark.parametrize("door", DOORS)
async def test_a_first_frame_throttle_falls_back(
    sdks: tuple[Any, Any], faults: FaultServer, door: str
) -> None:
    result = await outcome(door, sdks, "fbf:throttle-first", stream=True)
    assert result.status == 200, result
    assert faults.served == ["throttle-first", "healthy"]


def test_the_scrubber_removes_secrets_not_names() -> None:
    key = "Zx8Qm2Lp9Rt4Vw7Ys1Bn6Hj3Kd5Fg0Ac8Ue2Io4P"  # 40 random characters
    text = (
        f"Quota exceeded for {QUOTA_NAME}; key {key}; "
        "request 123e4567-e89b-12d3-a456-426614174000; metric "
        "generate_content_paid_tier_input_token_count_per_minute_per_model"
    )
    scrubbed = scrub_secrets(text)
    assert key not in scrubbed
    assert QUOTA_NAME in scrubbed
    assert "123e4567-e89b-12d3-a456-426614174000" in scrubbed
    assert "generate_content_paid_tier_input_token_count_per_minute_per_model" in scrubbed
    for secret in ("sk-proj-abcdefgh12345678", "AKIAIOSFODNN7EXAMPLE", "ya29.a0AfH6SMBx3cVbQ-longtoken123"):
        assert secret not in scrub_secrets(f"bad credential {secret} given"), secret
