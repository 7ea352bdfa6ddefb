"""What the tracing hooks cost a request, with tracing off and on: the calls a streamed
request makes into ``routing.tracing`` (request span, resolution, one upstream attempt,
the outcome, the stream and its first token), timed in a loop in this process. Off is the
steady state without ``OTEL_*``; on exports to an exporter that drops the spans, so the
figure is the spans' own cost (building, batching), not the network's.

Usage: python -m bench.tracing_cost [--requests N]
"""

import argparse
import os
import time
from collections.abc import AsyncIterator, Sequence

import django
import httpx

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vandamme.settings")
django.setup()

from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

from providers.families import ApiFormat  # noqa: E402
from routing import otel, tracing  # noqa: E402
from routing.failover import OpenedUpstream  # noqa: E402
from routing.request_context import RequestScope  # noqa: E402
from routing.resolution import Resolution  # noqa: E402
from routing.table import KeyConfig, ProviderConfig  # noqa: E402

PROVIDER = ProviderConfig(
    name="bench",
    api_format=ApiFormat.OPENAI,
    base_url="http://127.0.0.1:1/v1",
    api_version="",
    timeout=60.0,
    max_retries=2,
    custom_headers=(),
    tool_name_sanitization=False,
    passthrough=False,
    models=(),
    keys=(),
)
KEY = KeyConfig(1, "fp-bench", "sk-bench")
RESOLUTION = Resolution(requested="bench", provider=PROVIDER, upstream_model="bench")
SCOPE = {"type": "http", "method": "POST", "path": "/v1/messages", "headers": [(b"x-api-key", b"k")]}
OPENED = OpenedUpstream(httpx.Response(200), KEY.fingerprint)
BODY = {"model": "bench", "messages": [{"role": "user", "content": "hi"}]}


REQUEST = RequestScope(request_id="r", method="POST", path="/v1/messages", started=0.0)


async def _events() -> AsyncIterator[bytes]:
    yield b"data: {}\n\n"


EVENTS = _events()  # handed on, never read


class DroppingExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def one_request() -> None:
    """The hooks of one streamed request, in the order the gateway calls them."""
    request = REQUEST
    trace = tracing.begin_request_trace(SCOPE, request)
    with tracing.traced_resolution("bench", str) as resolved:
        resolved(RESOLUTION)
    with tracing.traced_attempt(PROVIDER, KEY) as note:
        note(OPENED)
    tracing.traced_stream(EVENTS)
    tracing.trace_first_token()
    tracing.trace_call(RESOLUTION, BODY)
    tracing.end_request_trace(trace, request)


def per_request_us(requests: int) -> float:
    for _ in range(1000):  # warm up
        one_request()
    started = time.perf_counter()
    for _ in range(requests):
        one_request()
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    description = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.tracing_cost", description=description)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    assert not tracing.tracing_enabled()  # this process has no OTEL_*
    off = per_request_us(args.requests)
    print(f"tracing off: {off:.3f} µs per request ({args.requests} requests)")
    otel.start({}, DroppingExporter())
    tracing._otel = otel
    with_spans = per_request_us(args.requests // 10)
    print(f"tracing on:  {with_spans:.1f} µs per request (spans built and batched, export dropped)")


if __name__ == "__main__":
    main()
