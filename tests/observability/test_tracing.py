"""OpenTelemetry traces in process (spans kept by the SDK's in-memory exporter, upstreams
mocked by respx): which variables switch tracing on, that nothing of OpenTelemetry loads
when they do not, that no prompt or answer text is recorded unless switched on, and the
span tree of a non-streamed call. The exported trace of a real gateway process, over
OTLP/HTTP, is ``tests/integration/test_tracing_live.py``."""

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from routing import otel, tracing
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE, OPENAI_KEYS
from tests.integration.gateway import REPO_ROOT
from tests.teams.test_usage import REPLY, STREAM
from tests.test_process_footprint import PROBE

SECRET_IN_PROMPT = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
PROMPT = f"tell me a secret: {SECRET_IN_PROMPT} (lilac-heron)"
Spans = Callable[[], Sequence[ReadableSpan]]


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "gw", "OTEL_TRACES_SAMPLER": "always_on"}, False),  # no exporter named
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),  # the SDK's default endpoint, localhost:4318
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_the_standard_variables_switch_tracing_on(environ: dict[str, str], wanted: bool) -> None:
    assert tracing.tracing_wanted(environ) is wanted


def test_a_tracer_that_cannot_start_is_logged_and_the_gateway_serves_untraced(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(environ: object) -> None:
        raise ValueError("no such sampler")

    monkeypatch.setattr(otel, "start", broken)
    assert tracing.configure_tracing({"OTEL_TRACES_EXPORTER": "otlp"}) is False
    assert not tracing.tracing_enabled()
    assert "could not start, serving without it: no such sampler" in caplog.text


def _served_modules(tmp_path: Path, **environ: str) -> set[str]:
    """The modules a fresh gateway process has loaded after serving a request to a door."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "vandamme.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        **environ,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "/v1/messages"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["statuses"] == [405]  # a GET: refused, but through the door's view
    return {name for name in answer["modules"] if name.split(".")[0] == "opentelemetry"}


def test_off_nothing_of_opentelemetry_is_imported(tmp_path: Path) -> None:
    assert _served_modules(tmp_path) == set()
    # The same probe with an endpoint set does load it (the probe can tell).
    loaded = _served_modules(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert {"opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter"} <= loaded


def _start(settings: Any, *, capture: bool) -> Iterator[Spans]:
    settings.VANDAMME_OTEL_CAPTURE_CONTENT = capture
    exporter = InMemorySpanExporter()
    otel.start({}, exporter)  # no OTEL_SERVICE_NAME: the default name
    tracing._otel = otel
    state = otel._live()

    def finished() -> Sequence[ReadableSpan]:
        state.provider.force_flush()
        return exporter.get_finished_spans()

    try:
        yield finished
    finally:
        tracing._otel = None
        otel._state = None
        state.provider.shutdown()


@pytest.fixture
def spans(settings: Any) -> Iterator[Spans]:
    yield from _start(settings, capture=False)


@pytest.fixture
def spans_with_content(settings: Any) -> Iterator[Spans]:
    yield from _start(settings, capture=True)


def _body(*, stream: bool) -> dict[str, object]:
    return {
        "model": "gpt-4o",
        "max_tokens": 5,
        "stream": stream,
        "system": "be brief",
        "messages": [{"role": "user", "content": PROMPT}],
    }


async def _ask_both(http: httpx.AsyncClient, respx_mock: respx.MockRouter) -> None:
    """One whole answer and one streamed, both ``ok``."""
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    assert (await http.post("/v1/messages", json=_body(stream=False))).status_code == 200
    route.respond(content=STREAM, headers={"content-type": "text/event-stream"})
    streamed = await http.post("/v1/messages", json=_body(stream=True))
    assert streamed.status_code == 200
    assert b"message_stop" in streamed.content


def _texts(spans: Sequence[ReadableSpan]) -> str:
    return json.dumps([dict(span.attributes or {}) for span in spans] + [span.name for span in spans])


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_no_prompt_or_answer_text_is_recorded_by_default(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, spans: Spans
) -> None:
    await _ask_both(gateway_http, respx_mock)
    recorded = spans()
    assert len([span for span in recorded if span.name == "chat gpt-4o"]) == 2
    text = _texts(recorded)
    for said in ("lilac-heron", "be brief", '"ok"', SECRET_IN_PROMPT, *OPENAI_KEYS):
        assert said not in text
    assert not any(key.startswith(("gen_ai.input", "gen_ai.output")) for key in json.loads(text)[0])


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_switched_on_the_prompt_and_answer_are_recorded_without_keys(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, spans_with_content: Spans
) -> None:
    await _ask_both(gateway_http, respx_mock)
    whole, streamed = [span for span in spans_with_content() if span.name == "chat gpt-4o"]
    for span in (whole, streamed):
        attributes = span.attributes or {}
        assert "lilac-heron" in str(attributes["gen_ai.input.messages"])
        assert attributes["gen_ai.system_instructions"] == "be brief"
        assert SECRET_IN_PROMPT not in _texts([span])  # key-shaped text is scrubbed even here
    assert json.loads(str((whole.attributes or {})["gen_ai.output.messages"]))["content"][0]["text"] == "ok"
    sent = str((streamed.attributes or {})["gen_ai.output.messages"])  # the events as the client got them
    assert "event: message_stop" in sent
    assert '"text":"ok"' in sent.replace(" ", "")


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_a_whole_answer_is_a_request_span_with_its_children(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, spans: Spans
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    response = await gateway_http.post("/v1/messages", json=_body(stream=False))
    assert response.status_code == 200
    assert (await gateway_http.get("/health")).status_code == 200  # probes make no spans
    by_name = {span.name: span for span in spans()}
    assert set(by_name) == {"chat gpt-4o", "vandamme.resolution", "upstream mockai"}
    request = by_name["chat gpt-4o"]
    assert request.parent is None  # no traceparent came: a root span
    for child in (by_name["vandamme.resolution"], by_name["upstream mockai"]):
        assert child.parent is not None
        assert child.parent.span_id == request.context.span_id
    attributes = request.attributes or {}
    assert attributes["gen_ai.system"] == "compatible"  # an OpenAI-format API on no known host
    assert attributes["gen_ai.usage.input_tokens"] == 12  # the cached 2 included
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 2
    assert attributes["vandamme.request_id"] == response.headers["x-request-id"]
    assert "gen_ai.server.time_to_first_token" not in attributes  # a whole answer has no first token
    assert request.resource.attributes["service.name"] == "vandamme"


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_count_tokens_is_no_model_call_and_leaves_no_orphan_spans(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, spans: Spans
) -> None:
    counted = respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages/count_tokens").respond(json={"input_tokens": 9})
    body = {"model": "mockant:claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}
    response = await gateway_http.post("/v1/messages/count_tokens", json=body)
    assert response.json() == {"input_tokens": 9}
    assert counted.called  # it did resolve the model and call upstream: untraced
    assert list(spans()) == []
