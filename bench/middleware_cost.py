"""What the middleware chain costs per call, in process: the two hook points of the hot
path as the gateway runs them (``routing.calls.post_upstream``, ``routing.doors.dispatch``)
with no middleware, with a no-op request hook, and a no-op stream hook over a typical
stream (re-framed event by event).

Usage: python -m bench.middleware_cost  (about ten seconds; one core)
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vandamme.settings")
django.setup()

from providers.families import ApiFormat  # noqa: E402  (after django.setup)
from routing.auth import ClientAuth  # noqa: E402
from routing.calls import ProxyCall  # noqa: E402
from routing.middleware.chain import Chain, build_chain, specs_from  # noqa: E402
from routing.middleware.run import _hooked_stream, run_request_hooks  # noqa: E402
from routing.resolution import Resolution  # noqa: E402
from routing.table import ProviderConfig, RoutingTable, TeamConfig  # noqa: E402

BODY = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hello there " * 20}]}
STREAM = [
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"some words of an answer"}}\n\n'
] * 50


def _resolution(chain: Chain | None) -> Resolution:
    provider = ProviderConfig(
        name="p",
        api_format=ApiFormat.OPENAI,
        base_url="http://upstream.test/v1",
        api_version="",
        timeout=1,
        max_retries=0,
        custom_headers=(),
        tool_name_sanitization=False,
        passthrough=False,
        models=(),
        keys=(),
        middleware=chain,
    )
    return Resolution("m", provider, "m")


def _call() -> ProxyCall:
    table = RoutingTable(
        providers={}, default_provider=None, global_aliases={}, scoped_aliases={}, unavailable={}
    )
    return ProxyCall(dict(BODY), {}, ClientAuth(team=TeamConfig(name="t")), table)


async def _hook_points(call: ProxyCall, resolution: Resolution, rounds: int) -> None:
    for _ in range(rounds):
        body: object = BODY
        if (chain := call.chain_for(resolution)) is not None:
            body = await run_request_hooks(chain.request, call.hook_run(resolution), body)
        chain = call.chain_for(resolution)
        if chain is not None and chain.answers:
            pass


async def _nothing(call: ProxyCall, resolution: Resolution, rounds: int) -> None:
    for _ in range(rounds):
        body: object = BODY
        del body


async def _stream(chain: Chain | None, call: ProxyCall, resolution: Resolution, rounds: int) -> None:
    async def upstream() -> AsyncIterator[bytes]:
        for chunk in STREAM:
            yield chunk

    for _ in range(rounds):
        chunks = upstream()
        if chain is not None and chain.stream:
            chunks = _hooked_stream(chunks, chain.stream, call.hook_run(resolution))
        async for _chunk in chunks:
            pass


def _per_round(run: Callable[[int], object], rounds: int) -> float:
    loop = asyncio.new_event_loop()
    best = float("inf")
    for _ in range(5):  # the best of five: the least disturbed by the neighbours
        started = time.perf_counter()
        loop.run_until_complete(run(rounds))  # type: ignore[arg-type]
        best = min(best, (time.perf_counter() - started) / rounds)
    loop.close()
    return best * 1e9


def main() -> None:
    call = _call()
    none = _resolution(None)
    request_only = _resolution(build_chain(specs_from([{"path": "bench.noop_middleware.NoOpRequest"}], "g")))
    every_hook = build_chain(specs_from([{"path": "bench.noop_middleware.NoOpAll"}], "g"))
    rounds = 200_000
    baseline = _per_round(lambda n: _nothing(call, none, n), rounds)
    empty = _per_round(lambda n: _hook_points(call, none, n), rounds)
    noop = _per_round(lambda n: _hook_points(call, request_only, n), rounds)
    print(f"hook points, no middleware:      {empty - baseline:8.0f} ns per call")
    print(f"hook points, a no-op request hook: {noop - baseline:6.0f} ns per call")
    plain = _per_round(lambda n: _stream(None, call, none, n), 2_000)
    hooked = _per_round(lambda n: _stream(every_hook, call, none, n), 2_000)
    print(f"a {len(STREAM)}-event stream, relayed:        {plain / 1000:8.1f} µs")
    per_event = (hooked - plain) / len(STREAM) / 1000
    print(f"the same through a no-op stream hook: {hooked / 1000:5.1f} µs ({per_event:.1f} µs per event)")


if __name__ == "__main__":
    main()
