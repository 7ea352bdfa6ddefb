"""The hook every stream generator's response goes through: time to first token,
streams in flight, and the one accounting call at the end.

A door that streams does, with the watch ``ProxyCall.watch_stream(resolution)`` gives it::

    watch = call.watch_stream(resolution)
    events = my_generator(upstream, ..., on_complete=watch)  # calls watch(usage, status) once, in finally
    return StreamingHttpResponse(watch.relay(events), ...)   # times the first chunk, counts the stream live

``relay`` passes chunks through untouched (one extra ``yield`` per chunk) and closes the
wrapped generator when the client goes away, so its ``finally`` still runs.
"""

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from routing.metrics import ACTIVE_STREAMS, call_labels
from routing.request_context import current_request
from routing.tracing import trace_first_token, traced_stream

# (usage in Anthropic form or None, status, time to first token in ms or None[, error]):
# the error message comes only when the stream ended in one.
StreamAccount = Callable[..., None]


@dataclass(eq=False)
class StreamWatch:
    provider: str
    model: str
    team: str
    started: float  # the request's perf_counter start, so TTFT includes routing and upstream
    account: StreamAccount = field(repr=False)
    request_id: str = ""
    first_chunk_at: float | None = None
    opened_at: float = field(default_factory=time.time)  # wall clock, for "running for"

    @property
    def ttft_ms(self) -> int | None:
        if self.first_chunk_at is None:
            return None
        return int((self.first_chunk_at - self.started) * 1000)

    def __call__(self, usage: dict[str, Any] | None, status: int, error: str = "") -> None:
        """The stream ended (``routing.relays.core.StreamDone``): account for it once."""
        if error:
            self.account(usage, status, self.ttft_ms, error)
        else:
            self.account(usage, status, self.ttft_ms)

    async def relay(self, events: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
        labels = call_labels(self.provider, self.model, self.team)
        gauge = ACTIVE_STREAMS.labels(*labels)
        gauge.inc()
        live_streams.add(self)
        events = traced_stream(events)
        try:
            async for chunk in events:
                if self.first_chunk_at is None and chunk:
                    self.first_chunk_at = time.perf_counter()
                    trace_first_token()
                yield chunk
        finally:
            live_streams.discard(self)
            gauge.dec()
            close = getattr(events, "aclose", None)  # an async generator: run its finally now
            if close is not None:
                await close()


# The streams this process relays now (the dashboard's live view lists them).
live_streams: set[StreamWatch] = set()


def new_stream_watch(
    *, provider: str, model: str, team: str, started: float, account: StreamAccount
) -> StreamWatch:
    request = current_request.get()
    return StreamWatch(
        provider=provider,
        model=model,
        team=team,
        started=started,
        account=account,
        request_id=request.request_id if request is not None else "",
    )
