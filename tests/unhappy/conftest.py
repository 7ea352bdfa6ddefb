"""Providers of every format in front of one fault-injecting upstream (``fault_server``),
reached through the official SDKs and the ASGI app in process, on both upstream
transports (httpx's own, and aiohttp's pool, the production default)."""

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from providers.models import ApiFormat, Provider
from routing.upstream import close_upstream_clients
from tests.cloud_mocks import service_account_key
from tests.gateway.conftest import (  # noqa: F401  (re-exported fixtures)
    client,
    gateway_http,
    make_provider,
    openai_sdk,
    providers,
    recorded_usage,
)
from tests.unhappy.fault_server import FaultServer

GAP_TIMEOUT = 0.6  # the providers' read timeout: a stall ends after this
TOTAL_TIMEOUT = 1.5  # the providers' total deadline
OPENAI_KEY = "sk-fault-openai-key-aaaaaaaaaaaa"
ANTHROPIC_KEY = "sk-ant-fault-key-bbbbbbbbbbbbbbbb"
BEDROCK_KEYS = ("bedrock-api-key-fault-one", "bedrock-api-key-fault-two")


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer(drip_seconds=0.25) as server:
        yield server


@pytest.fixture(params=["httpx", "aiohttp"])
async def transport(request: pytest.FixtureRequest, settings: object) -> AsyncIterator[str]:
    settings.VANDAMME_UPSTREAM_TRANSPORT = request.param  # type: ignore[attr-defined]
    yield request.param
    await close_upstream_clients()


@pytest.fixture
def fault_providers(transactional_db: None, faults: FaultServer) -> dict[str, Provider]:
    """``fo`` (OpenAI format), ``fa`` (Anthropic), ``fb`` (Bedrock, two keys), ``fv``
    (Vertex), and ``fbf``, a Bedrock provider that falls back to ``fo``."""
    common = {"timeout": GAP_TIMEOUT, "total_timeout": TOTAL_TIMEOUT, "max_retries": 0}
    info, _ = service_account_key(f"{faults.origin}/token")
    return {
        "fo": make_provider("fo", base_url=faults.base_url, keys=(OPENAI_KEY,), **common),
        "fa": make_provider(
            "fa", base_url=faults.origin, api_format=ApiFormat.ANTHROPIC, keys=(ANTHROPIC_KEY,), **common
        ),
        "fb": make_provider(
            "fb",
            base_url=faults.origin,
            api_format=ApiFormat.BEDROCK,
            keys=BEDROCK_KEYS,
            region="us-east-1",
            **common,
        ),
        "fv": make_provider(
            "fv",
            base_url=faults.origin,
            api_format=ApiFormat.VERTEX,
            keys=(json.dumps(info),),
            region="us-east5",
            **common,
        ),
        "fbf": make_provider(
            "fbf",
            base_url=faults.origin,
            api_format=ApiFormat.BEDROCK,
            keys=BEDROCK_KEYS[:1],
            region="us-east-1",
            fallbacks=["fo:healthy"],
            **common,
        ),
    }
