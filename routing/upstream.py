"""Upstream HTTP clients: one pooled ``httpx.AsyncClient`` per provider and event loop.

A client is bound to the loop it was created on (httpx#2058), so the cache is keyed
by the running loop; the test client and ``async_to_sync`` each bring their own loop.
Requests go through aiohttp's connection pool by default (``VANDAMME_UPSTREAM_TRANSPORT``;
``httpx`` selects httpx's own transport, which respx can mock). Timeouts are explicit:
the read timeout is the provider's ``timeout`` and bounds the
gap between streamed chunks, so a slow first token is not an error.

httpx-aiohttp 0.2.0 maps every aiohttp connection error it does not list more
precisely (connection refused, DNS failure, server disconnected) to
``httpx.ConnectTimeout``; ``PreciseAiohttpTransport`` maps those back to what
happened, so a refused connection is "unreachable" (502), not "timed out" (504); the
errors it does not map at all (a garbage status line, oversized headers) become
``httpx.RemoteProtocolError``.

Besides the gap timeout, every call has a total deadline (the provider's
``total_timeout``, else ``STREAM_DEADLINE_SECONDS`` for streams and
``WHOLE_DEADLINE_SECONDS`` for whole answers): an upstream that drips a byte just inside
the gap would otherwise hold the client for ever. Past it, reading the body raises
``DeadlineExceeded``, an ``httpx.ReadTimeout``, so every relay that handles a broken
stream handles it too.
"""

import asyncio
import contextlib
import functools
import math
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import aiohttp
import httpx
from django.conf import settings
from httpx_aiohttp import AiohttpTransport

from routing.table import ProviderConfig

# Default total deadlines: an agent's stream may run for an hour; a whole answer longer
# than ten minutes is one the official SDKs refuse to wait for anyway.
STREAM_DEADLINE_SECONDS = 3600.0
WHOLE_DEADLINE_SECONDS = 600.0
# Response headers past this size are a broken upstream on every transport.
MAX_RESPONSE_HEADER_BYTES = 64 * 1024

TransportFactory = Callable[[], httpx.AsyncBaseTransport | None]

ClientsByProvider = dict[tuple[str, float], "UpstreamClient"]
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientsByProvider]" = (
    weakref.WeakKeyDictionary()
)
_transport_factory: TransportFactory = lambda: None  # noqa: E731  (tests inject a transport)


def _precise_error(exc: httpx.ConnectTimeout) -> httpx.TransportError | None:
    """What a ``ConnectTimeout`` raised from a non-timeout aiohttp error really was."""
    cause = exc.__cause__
    if not isinstance(cause, aiohttp.ClientConnectionError) or isinstance(cause, TimeoutError):
        return None  # a real timeout (aiohttp's timeouts are TimeoutErrors)
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return httpx.ConnectError(str(cause))
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(cause))
    return httpx.ReadError(str(cause))  # reset or broken on an open connection


@contextlib.contextmanager
def _precise_errors() -> Iterator[None]:
    try:
        yield
    except httpx.ConnectTimeout as exc:
        precise = _precise_error(exc)
        if precise is None:
            raise
        raise precise from exc.__cause__
    except aiohttp.ClientResponseError as exc:  # a bad status line, headers too large: unmapped
        raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc.message}".splitlines()[0]) from exc
    except aiohttp.ClientError as exc:  # anything else aiohttp's mapping misses
        raise httpx.ReadError(type(exc).__name__) from exc


class PreciseAiohttpTransport(AiohttpTransport):
    """``AiohttpTransport`` whose connection errors say what happened (module docstring);
    errors reading the body are made precise by ``GuardedStream``, the one layer every
    response body goes through."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _precise_errors():
            return await super().handle_async_request(request)


class DeadlineExceeded(httpx.ReadTimeout):
    """The call ran past its total deadline (a subclass of ``httpx.ReadTimeout``)."""


def total_deadline(provider: ProviderConfig, *, stream: bool) -> float:
    """The loop time by which a call to ``provider`` started now must be over."""
    seconds = provider.total_timeout
    if seconds is None:
        seconds = STREAM_DEADLINE_SECONDS if stream else WHOLE_DEADLINE_SECONDS
    return asyncio.get_running_loop().time() + seconds


class GuardedStream(httpx.AsyncByteStream):
    """A response body read under the call's total deadline, which can be read ahead,
    its transport errors made precise (``_precise_errors``).

    While more time is left than the gap timeout, the gap timeout fires first and the
    deadline costs one clock read per chunk; within the last gap, each read is bounded
    by the time left. ``read_ahead()`` reads a chunk that iteration replays first (the
    first frame is looked at before the response is committed to the client).
    """

    def __init__(self, stream: httpx.AsyncByteStream, deadline: float, gap: float) -> None:
        self._stream = stream
        self._deadline = deadline
        self._gap = gap
        self._iterator: AsyncIterator[bytes] | None = None
        self._held: list[bytes] = []

    async def read_ahead(self) -> bytes | None:
        """The next chunk, kept to be replayed; None at the end of the body."""
        with _precise_errors():
            chunk = await self._next()
        if chunk is not None:
            self._held.append(chunk)
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self._held:
            yield self._held.pop(0)
        if self._iterator is None:
            self._iterator = aiter(self._stream)
        # Until the last gap before the deadline, chunks pass as they come (the gap timeout
        # would fire first): one clock read each. Then each read is bounded (``_next``).
        loop = asyncio.get_running_loop()
        bounded_from = self._deadline - self._gap
        with _precise_errors():
            if loop.time() < bounded_from:
                async for chunk in self._iterator:
                    yield chunk
                    if loop.time() >= bounded_from:
                        break
                else:
                    return
            while (bounded := await self._next()) is not None:
                yield bounded

    async def _next(self) -> bytes | None:
        if self._iterator is None:
            self._iterator = aiter(self._stream)
        left = self._deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise DeadlineExceeded("the upstream call ran past its total deadline")
        if left >= self._gap:  # the gap timeout fires first: no timer of ours needed
            try:
                return await anext(self._iterator)
            except StopAsyncIteration:
                return None
        scope = asyncio.timeout(left)
        try:
            async with scope:
                return await anext(self._iterator)
        except (StopAsyncIteration, TimeoutError, httpx.HTTPError) as exc:
            # A transport may end the body, or fail, on the cancellation the timeout sends it.
            if scope.expired():
                raise DeadlineExceeded("the upstream call ran past its total deadline") from exc
            if isinstance(exc, StopAsyncIteration):
                return None
            raise

    async def aclose(self) -> None:
        closing: Any = getattr(self._iterator, "aclose", None)
        with _precise_errors():
            if closing is not None:
                await closing()
            await self._stream.aclose()


def set_transport_factory(factory: TransportFactory) -> None:
    """Route every new upstream client through ``factory()`` (tests)."""
    global _transport_factory
    _transport_factory = factory
    _clients.clear()


@functools.lru_cache(maxsize=256)
def _parsed_url(url: str) -> httpx.URL:
    """Upstream URLs repeat (one per provider and model): parse each once."""
    return httpx.URL(url)


class UpstreamClient:
    """A provider's pooled connections on one loop, and how a request reaches them.

    Requests go to the transport directly, not through ``httpx.AsyncClient.send``: its
    layers (URL merging, auth and redirect hooks, the cookie jar) cost ~65 µs a request
    (bench/: ~8% of the gateway's CPU) for nothing the gateway uses. Credentials travel
    in headers (``routing.authorizers``), redirects are not followed, and cookies one
    upstream answer sets must not reach the requests of other clients. The client's
    default headers and timeouts are kept. (No proxy is taken from the environment:
    httpx ignores ``HTTPS_PROXY`` and the like for a client given its own transport.)
    """

    def __init__(self, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
        self.client = client
        self._transport = transport
        self._default_headers = {name.lower(): value for name, value in client.headers.items()}
        self._extensions = {"timeout": client.timeout.as_dict()}

    @property
    def is_closed(self) -> bool:
        return self.client.is_closed

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, *, deadline: float | None = None
    ) -> httpx.Response:
        """Send the request; the response is open (streamed) until ``aclose()``, and its
        body a ``GuardedStream`` that ends at ``deadline`` (loop time; None: never).
        Waiting for the headers past the deadline raises ``DeadlineExceeded`` too."""
        merged = self._default_headers | {name.lower(): value for name, value in headers.items()}
        request = httpx.Request(
            method, _parsed_url(url), headers=merged, content=body, extensions=self._extensions
        )
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                response = await self._transport.handle_async_request(request)
        except TimeoutError as exc:
            if scope.expired():
                raise DeadlineExceeded("the upstream call ran past its total deadline") from exc
            raise
        response.request = request
        if sum(len(name) + len(value) for name, value in response.headers.raw) > MAX_RESPONSE_HEADER_BYTES:
            await response.aclose()  # aiohttp refuses far less; httpx's own transport accepts it
            raise httpx.RemoteProtocolError(f"response headers over {MAX_RESPONSE_HEADER_BYTES} bytes")
        if isinstance(response.stream, httpx.AsyncByteStream):
            gap = self.client.timeout.read or math.inf
            response.stream = GuardedStream(response.stream, math.inf if deadline is None else deadline, gap)
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


def _new_client(provider: ProviderConfig) -> UpstreamClient:
    timeout = httpx.Timeout(
        connect=settings.VANDAMME_CONNECT_TIMEOUT,
        read=provider.timeout,
        write=settings.VANDAMME_WRITE_TIMEOUT,
        pool=settings.VANDAMME_POOL_TIMEOUT,
    )
    limits = httpx.Limits(
        max_connections=settings.VANDAMME_MAX_CONNECTIONS,
        max_keepalive_connections=settings.VANDAMME_MAX_CONNECTIONS,
        keepalive_expiry=60,
    )
    transport = _transport_factory()
    if transport is None and settings.VANDAMME_UPSTREAM_TRANSPORT == "aiohttp":
        # httpx's API on aiohttp's connection pool: httpcore's pool bookkeeping costs about
        # a millisecond of CPU per request, aiohttp's a fraction of that (bench/).
        transport = PreciseAiohttpTransport(limits=limits)
    elif transport is None:
        transport = httpx.AsyncHTTPTransport(limits=limits)  # what the client would make itself
    client = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport, follow_redirects=False)
    return UpstreamClient(client, transport)


def upstream_client(provider: ProviderConfig) -> UpstreamClient:
    """The shared client for ``provider`` on the running loop (created lazily)."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.get(loop)
    if per_loop is None:
        per_loop = _clients[loop] = {}
    key = (provider.name, provider.timeout)
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = per_loop[key] = _new_client(provider)
    return client


async def close_upstream_clients() -> None:
    """Close the clients of the running loop (process shutdown, tests)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.aclose()
