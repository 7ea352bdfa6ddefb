"""OpenTelemetry traces of a real gateway process, exported over OTLP/HTTP to a real
receiver on 127.0.0.1 and decoded with opentelemetry-proto: the request span, its
parent (the client's traceparent), its children (resolution, each upstream attempt,
time to first token) and their attributes, through each front door."""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.gateway import REPO_ROOT, GatewayProcess
from tests.integration.otlp_receiver import OTLPReceiver, ReceivedSpan
from tests.mock_upstream.harness import MockUpstream

pytestmark = pytest.mark.integration

UPSTREAM_KEY = "sk-mock-upstream-key-never-exported-0123456789"
BACKUP_KEY = "sk-backup-upstream-key-never-exported-98765"
PROMPT = "a prompt no span may carry: violet-otter-42"
SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
STATUS_ERROR = 2
CREATE_TEAM = (
    "from teams.models import Team; from teams.services import gateway_key_create; "
    "team = Team.objects.create(name='tracers'); print(gateway_key_create(team=team)[1])"
)
DOOR_BODIES: dict[str, dict[str, Any]] = {
    "/v1/messages": {"max_tokens": 20, "messages": [{"role": "user", "content": PROMPT}]},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": PROMPT}]},
    "/v1/responses": {"input": PROMPT},
}


@dataclass
class Live:
    gateway: GatewayProcess
    upstream: MockUpstream
    receiver: OTLPReceiver
    team_key: str


def _create_team(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_TEAM],
        cwd=REPO_ROOT,
        env={**env, "PATH": os.environ["PATH"]},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _gateway_env(upstream: MockUpstream, receiver: OTLPReceiver, **more: str) -> dict[str, str]:
    return {
        "MOCK_API_KEY": UPSTREAM_KEY,
        "MOCK_BASE_URL": upstream.base_url,
        "MOCK_FALLBACKS": "backup:gpt-4o",
        "BACKUP_API_KEY": BACKUP_KEY,
        "BACKUP_BASE_URL": upstream.base_url,
        "VDM_DEFAULT_PROVIDER": "mock",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_SERVICE_NAME": "vandamme-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: the test waits for its spans, not 5 s
        **more,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with MockUpstream() as upstream, OTLPReceiver() as receiver:
        tmp = tmp_path_factory.mktemp("tracing")
        with GatewayProcess(tmp, _gateway_env(upstream, receiver)) as gateway:
            key = _create_team(gateway.env)
            yield Live(gateway, upstream, receiver, key)


def _traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = os.urandom(16).hex(), os.urandom(8).hex()
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def _stream(live: Live, path: str, model: str, traceparent: str) -> httpx.Response:
    body = {**DOOR_BODIES[path], "model": model, "stream": True}
    headers = {"x-api-key": live.team_key, "traceparent": traceparent}
    with httpx.stream(
        "POST", f"{live.gateway.base_url}{path}", json=body, headers=headers, timeout=30
    ) as response:
        response.read()
    assert response.status_code == 200, response.text
    return response


def _trace(live: Live, trace_id: str) -> dict[str, list[ReceivedSpan]]:
    """The trace's spans by name, once its request span (the last to end) is in."""

    def complete(spans: list[ReceivedSpan]) -> bool:
        return any(span.trace_id == trace_id and span.kind == SERVER for span in spans)

    by_name: dict[str, list[ReceivedSpan]] = {}
    for span in live.receiver.wait_for(complete):
        if span.trace_id == trace_id:
            by_name.setdefault(span.name, []).append(span)
    for spans in by_name.values():
        spans.sort(key=lambda span: span.start_ns)
    return by_name


@pytest.mark.parametrize("path", sorted(DOOR_BODIES))
def test_a_streamed_request_with_one_retry_is_one_trace_under_the_callers_span(live: Live, path: str) -> None:
    live.upstream.script([{"status": 503}])  # the first attempt fails; the retry is served
    traceparent, trace_id, parent_id = _traceparent()
    response = _stream(live, path, "gpt-4o", traceparent)
    trace = _trace(live, trace_id)

    [request] = trace["chat gpt-4o"]
    assert (request.kind, request.parent_span_id) == (SERVER, parent_id)  # the caller's span
    assert request.service_name == "vandamme-under-test"
    attributes = request.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "compatible"  # a self-hosted OpenAI-format API
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["vandamme.team"] == "tracers"
    assert attributes["vandamme.request_id"] == response.headers["x-request-id"]
    assert attributes["http.response.status_code"] == 200
    assert request.status_code != STATUS_ERROR

    [resolution] = trace["vandamme.resolution"]
    first, retry = trace["upstream mock"]
    [first_token] = trace["time_to_first_token"]
    for child in (resolution, first, retry, first_token):
        assert child.parent_span_id == request.span_id
        assert request.start_ns <= child.start_ns <= child.end_ns <= request.end_ns
    assert resolution.attributes["vandamme.provider"] == "mock"
    assert resolution.end_ns <= first.start_ns
    assert first.end_ns <= retry.start_ns  # in that order

    assert (first.kind, retry.kind) == (CLIENT, CLIENT)
    # The gateway's status for the failure (an upstream 503 is an overload, 529), and why.
    assert first.attributes["vandamme.retry"] == 0
    assert first.attributes["error.type"] == "529"
    assert first.status_code == STATUS_ERROR
    assert "answered 503" in first.status_message
    assert first.attributes["vandamme.attempt.next"] == "retry"
    assert retry.attributes["vandamme.retry"] == 1
    assert retry.attributes["http.request.resend_count"] == 1
    assert retry.attributes["http.response.status_code"] == 200
    fingerprints = {
        first.attributes["vandamme.key.fingerprint"],
        retry.attributes["vandamme.key.fingerprint"],
    }
    assert len(fingerprints) == 1
    assert "" not in fingerprints  # one key, named by its fingerprint
    assert "vandamme.fallback_target" not in retry.attributes

    # The first token came after the retry had opened the stream; the event marks it too.
    assert first_token.start_ns == request.start_ns
    assert retry.end_ns <= first_token.end_ns
    assert [name for name, _, _ in request.events] == ["gen_ai.first_token"]
    assert request.events[0][1] == first_token.end_ns
    assert attributes["gen_ai.server.time_to_first_token"] > 0


def test_nothing_secret_or_said_is_exported(live: Live) -> None:
    traceparent, trace_id, _ = _traceparent()
    _stream(live, "/v1/messages", "gpt-4o", traceparent)
    _trace(live, trace_id)
    exported = b"".join(live.receiver.raw)
    for secret in (UPSTREAM_KEY, BACKUP_KEY, live.team_key, PROMPT):
        assert secret.encode() not in exported


def test_an_attempt_on_a_fallback_names_its_target(live: Live) -> None:
    # The mock provider retries 503s; its every try fails, so the fallback serves.
    live.upstream.add_rule({"match": {"header": "authorization", "contains": UPSTREAM_KEY}, "status": 503})
    try:
        traceparent, trace_id, _ = _traceparent()
        response = _stream(live, "/v1/chat/completions", "gpt-4o", traceparent)
    finally:
        live.upstream.reset()
    assert response.headers["x-vandamme-provider"] == "backup"
    trace = _trace(live, trace_id)
    failed = trace["upstream mock"]
    [served] = trace["upstream backup"]
    assert all(span.status_code == STATUS_ERROR for span in failed)
    assert all("vandamme.fallback_target" not in span.attributes for span in failed)
    assert served.attributes["vandamme.fallback_target"] == "backup:gpt-4o"
    assert served.attributes["vandamme.retry"] == 0
    [request] = trace["chat gpt-4o"]
    assert request.attributes["vandamme.provider"] == "backup"


def test_a_request_the_gateway_refuses_is_traced_as_the_clients_error(live: Live) -> None:
    traceparent, trace_id, parent_id = _traceparent()
    response = httpx.post(
        f"{live.gateway.base_url}/v1/messages",
        json={"model": "!", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        headers={"x-api-key": live.team_key, "traceparent": traceparent},
        timeout=10,
    )
    assert response.status_code == 400
    trace = _trace(live, trace_id)
    [request] = [span for spans in trace.values() for span in spans if span.kind == SERVER]
    assert request.parent_span_id == parent_id
    assert request.attributes["error.type"] == "400"
    assert request.status_code != STATUS_ERROR  # a 4xx is the client's, not the server's
    [resolution] = trace["vandamme.resolution"]
    assert resolution.status_code == STATUS_ERROR  # where it failed


@pytest.mark.parametrize("server", ["daphne", "uvicorn"])
def test_spans_still_queued_are_exported_at_shutdown(tmp_path: Path, server: str) -> None:
    with MockUpstream() as upstream, OTLPReceiver() as receiver:
        env = _gateway_env(upstream, receiver, OTEL_BSP_SCHEDULE_DELAY="600000")  # never on its own
        gateway = GatewayProcess(tmp_path, env, server=server)
        with gateway:
            traceparent, trace_id, _ = _traceparent()
            body = {**DOOR_BODIES["/v1/messages"], "model": "gpt-4o"}
            headers = {"traceparent": traceparent}
            url = f"{gateway.base_url}/v1/messages"
            assert httpx.post(url, json=body, headers=headers, timeout=10).status_code == 200
            assert not receiver.spans  # queued in the batch processor
        assert gateway.process is not None
        assert gateway.process.returncode == 0
        spans = receiver.wait_for(lambda spans: any(span.trace_id == trace_id for span in spans), timeout=1)
        assert {span.name for span in spans} >= {"chat gpt-4o", "vandamme.resolution", "upstream mock"}
