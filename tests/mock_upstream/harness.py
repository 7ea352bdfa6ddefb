"""``with MockUpstream() as mock:`` a mock upstream on 127.0.0.1, served from a thread with its
own event loop, so it answers while the test's thread (or its event loop) waits on a gateway
running in another process.

The helpers act on the server's state inside its loop, so they are safe from any thread and
take effect before they return.
"""

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from tests.mock_upstream.replies import DEFAULT_CHUNKS
from tests.mock_upstream.routes import Pacing
from tests.mock_upstream.scripts import MockState, request_record, validate_spec
from tests.mock_upstream.server import MockServer

T = TypeVar("T")
START_TIMEOUT = 10.0


class MockUpstream:
    """A scriptable OpenAI + Anthropic upstream. ``base_url`` ends in ``/v1`` (what an
    OpenAI-format provider or SDK expects); ``origin`` is scheme, host and port only."""

    def __init__(self, *, chunks: int = DEFAULT_CHUNKS, delay_ms: float = 0.0, record: bool = True) -> None:
        self._server = MockServer(pacing=Pacing(chunks, delay_ms), record=record)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mock-upstream", daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.port = self._loop.run_until_complete(self._server.start())
        except BaseException as exc:  # reported to the thread that called start()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._server.stop())
        self._loop.close()

    def start(self) -> "MockUpstream":
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("mock upstream did not start")
        if self._startup_error is not None:
            raise RuntimeError("mock upstream could not listen") from self._startup_error
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT)

    def __enter__(self) -> "MockUpstream":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    # --- helpers -----------------------------------------------------------------------

    def _in_loop(self, action: Callable[[MockState], T]) -> T:
        async def run() -> T:
            return action(self._server.state)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(START_TIMEOUT)

    def script(self, responses: list[dict[str, Any]]) -> None:
        """Queue canned responses, consumed in order (see ``scripts`` for the spec keys)."""
        entries = [validate_spec(response) for response in responses]
        self._in_loop(lambda state: state.script.extend(entries))

    def add_rule(self, rule: dict[str, Any]) -> None:
        """A standing response for requests that match, e.g. ``{"match": {"header":
        "authorization", "equals": "Bearer bad-key"}, "status": 401}``."""
        validate_spec(rule, rule=True)
        self._in_loop(lambda state: state.add_rule(rule))

    def requests(self) -> list[dict[str, Any]]:
        """Every request recorded since the last reset: method, path, query, headers, json, body."""
        return self._in_loop(lambda state: [request_record(r) for r in state.recorded])

    def pending_script(self) -> list[dict[str, Any]]:
        return self._in_loop(lambda state: list(state.script))

    def reset(self) -> None:
        self._in_loop(lambda state: state.reset())

    def configure(self, *, chunks: int | None = None, delay_ms: float | None = None) -> None:
        """Server-wide pacing of default streams, until the next reset."""

        def apply(state: MockState) -> None:
            state.pacing.chunks = state.pacing.chunks if chunks is None else chunks
            state.pacing.delay_ms = state.pacing.delay_ms if delay_ms is None else float(delay_ms)

        self._in_loop(apply)

    def stats(self) -> dict[str, Any]:
        """Requests served, connections accepted, and streams active / completed / dropped /
        aborted since the reset."""
        return self._in_loop(lambda state: state.stats())
