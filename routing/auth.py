"""Client authentication for the data plane.

When ``PROXY_API_KEY`` is set, clients must present it: in ``x-api-key`` or
``Authorization: Bearer`` (what Claude Code and the SDKs send), or in the separate
``x-gateway-key`` header. The separate header exists for passthrough providers: the
client then sends its own upstream key in ``x-api-key``/``Authorization`` and the
gateway key beside it. Keys are compared in constant time.
"""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from routing.errors import GatewayError

GATEWAY_KEY_HEADER = "x-gateway-key"


@dataclass(frozen=True)
class ClientAuth:
    """Who is calling. ``forwardable_key`` is the client's own upstream key, if any."""

    forwardable_key: str | None = field(repr=False, default=None)


def presented_api_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def authenticate(headers: Mapping[str, str]) -> ClientAuth:
    """Check the gateway key (if one is configured); raises GatewayError(401)."""
    expected = settings.PROXY_API_KEY
    api_key = presented_api_key(headers)
    if not expected:
        return ClientAuth(forwardable_key=api_key)
    gateway_key = headers.get(GATEWAY_KEY_HEADER)
    if gateway_key is not None:
        if _matches(gateway_key.strip(), expected):
            return ClientAuth(forwardable_key=api_key)
    elif _matches(api_key, expected):
        return ClientAuth(forwardable_key=None)
    raise GatewayError(
        401,
        "invalid or missing gateway API key: send it in x-api-key, Authorization: Bearer, "
        f"or {GATEWAY_KEY_HEADER}",
    )
