"""The rule every door's table follows: the serving provider's wire format picks the
cell (``routing.formats.upstream_wire``); a door with no cell for it refuses the call
with a 400 that names the provider. Not a door: the doors import it, never each other."""

from collections.abc import Mapping

from django.http.response import HttpResponseBase

from routing.calls import Dispatch, ProxyCall
from routing.errors import GatewayError
from routing.formats import Door, WireFormat, upstream_wire
from routing.middleware.run import hooked_answer
from routing.resolution import Resolution

# One cell of a door's table: serve ``call`` from the resolved provider (the signature
# ``serve_with_fallbacks`` dispatches with).
Handler = Dispatch
DoorTable = Mapping[WireFormat, Handler]


def table_dispatch(door: Door, table: DoorTable) -> Dispatch:
    """The dispatch ``serve_with_fallbacks`` calls per provider tried, from ``table``."""

    async def dispatch(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
        provider = resolution.provider
        wire = upstream_wire(door, provider)
        handler = table.get(wire)
        if handler is None:
            raise GatewayError(
                400,
                f"provider '{provider.name}' cannot serve the {door.value} door: it speaks "
                f"{wire.value}, and this door has no translation to it yet",
            )
        response = await handler(call, resolution)
        chain = call.chain_for(resolution)  # middleware answer hooks (routing.middleware)
        if chain is None or not chain.answers:
            return response
        return await hooked_answer(response, chain, call.hook_run(resolution))

    return dispatch
