"""Client authentication for the data plane.

A client presents a gateway key in ``x-api-key`` or ``Authorization: Bearer`` (what
Claude Code and the SDKs send), or in the separate ``x-gateway-key`` header. The
separate header exists for passthrough providers: the client then sends its own
upstream key in ``x-api-key``/``Authorization`` and the gateway key beside it.

Accepted keys: a team's gateway key (looked up by its sha256 in the routing snapshot,
so a lookup leaks nothing about stored keys through timing) or the single-user
``PROXY_API_KEY`` (compared in constant time). Whether a key is required at all is the
gateway mode (``routing.gateway_mode``, ``VDM_GATEWAY_MODE``): an open gateway serves
anyone, and a team's key still names its team there.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from routing.errors import GatewayError
from routing.table import (
    NO_RATE_LIMITS,
    GatewayKeyConfig,
    RateLimits,
    RoutingTable,
    SpendBudget,
    TeamConfig,
)
from teams.gateway_mode import configured_mode

GATEWAY_KEY_HEADER = "x-gateway-key"


@dataclass(frozen=True)
class ClientAuth:
    """Who is calling. ``forwardable_key`` is the client's own upstream key, if any."""

    forwardable_key: str | None = field(repr=False, default=None)
    team: TeamConfig | None = None
    key_prefix: str | None = None
    key_id: int | None = None
    key_limits: RateLimits = NO_RATE_LIMITS  # the gateway key's own, on top of the team's
    key_spend_budget: SpendBudget | None = None  # the gateway key's own, on top of the team's


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


def _team_key(presented: str | None, table: RoutingTable) -> GatewayKeyConfig | None:
    if not presented or not table.gateway_keys:
        return None
    key = table.gateway_keys.get(hashlib.sha256(presented.encode()).hexdigest())
    if key is not None and key.expires_at is not None and key.expires_at <= time.time():
        raise GatewayError(401, f"gateway key {key.prefix}… has expired")
    return key


def authenticate(headers: Mapping[str, str], table: RoutingTable) -> ClientAuth:
    """Who is calling; raises GatewayError(401) for a missing, wrong or expired key."""
    expected = settings.PROXY_API_KEY
    api_key = presented_api_key(headers)
    gateway_header = headers.get(GATEWAY_KEY_HEADER)
    presented = gateway_header.strip() if gateway_header is not None else api_key
    forwardable = api_key if gateway_header is not None else None
    team_key = _team_key(presented, table)
    if team_key is not None:
        return ClientAuth(
            forwardable_key=forwardable,
            team=team_key.team,
            key_prefix=team_key.prefix,
            key_id=team_key.key_id,
            key_limits=team_key.rate_limits,
            key_spend_budget=team_key.spend_budget,
        )
    if expected and _matches(presented, expected):
        return ClientAuth(forwardable_key=forwardable)
    mode = configured_mode(teams_exist=table.teams_configured)
    if not mode.closed:
        return ClientAuth(forwardable_key=api_key)
    raise GatewayError(
        401,
        f"invalid or missing gateway API key: the gateway is closed ({mode.reason}); send a key "
        f"in x-api-key, Authorization: Bearer, or {GATEWAY_KEY_HEADER}",
    )
