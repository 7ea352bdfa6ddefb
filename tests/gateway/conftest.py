"""Fixtures for endpoint tests: the real ASGI application in process, upstreams mocked by respx."""

from collections.abc import AsyncIterator, Callable

import anthropic
import httpx
import httpx2
import openai
import pytest
from django.db.backends import utils as db_utils

from aliases.models import Alias
from providers.models import ApiFormat, Provider
from providers.services import api_key_create
from routing.usage import UsageEvent, usage_recorder
from vandamme.asgi import application

OPENAI_BASE = "http://openai.upstream.test/v1"
ANTHROPIC_BASE = "http://anthropic.upstream.test"
OPENAI_KEYS = ("sk-test-openai-key-aaaaaaaaaaaa", "sk-test-openai-key-bbbbbbbbbbbb")
ANTHROPIC_KEY = "sk-ant-test-key-cccccccccccccccc"


def make_provider(
    name: str,
    *,
    base_url: str,
    api_format: str = ApiFormat.OPENAI,
    keys: tuple[str, ...] = (),
    **fields: object,
) -> Provider:
    provider = Provider.objects.create(name=name, base_url=base_url, api_format=api_format, **fields)
    for secret in keys:
        api_key_create(provider=provider, secret=secret)
    return provider


@pytest.fixture
def providers(transactional_db: None) -> dict[str, Provider]:
    """An OpenAI-format default provider with two keys and an Anthropic-format one."""
    openai = make_provider("mockai", base_url=OPENAI_BASE, keys=OPENAI_KEYS, is_default=True, max_retries=1)
    anthropic = make_provider(
        "mockant", base_url=ANTHROPIC_BASE, api_format=ApiFormat.ANTHROPIC, keys=(ANTHROPIC_KEY,)
    )
    Alias.objects.create(name="fast", target="mockai:gpt-4o-mini")
    return {"openai": openai, "anthropic": anthropic}


@pytest.fixture
async def client() -> AsyncIterator[anthropic.AsyncAnthropic]:
    """The official anthropic SDK wired to the ASGI application.

    The SDK runs on httpx2 (its fork of httpx); the upstream side stays on httpx/respx."""
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    async with anthropic.AsyncAnthropic(
        api_key="client-key", base_url="http://gateway.test", http_client=http, max_retries=0
    ) as sdk:
        yield sdk


@pytest.fixture
async def gateway_http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client wired to the ASGI application (the lean data-plane handler)."""
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield client


@pytest.fixture
def query_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run on ANY thread (the ORM runs in worker threads under ASGI)."""
    statements: list[str] = []
    original = db_utils.CursorWrapper._execute  # type: ignore[attr-defined]

    def counting(self: db_utils.CursorWrapper, sql: str, *args: object, **kwargs: object) -> object:
        statements.append(sql)
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(db_utils.CursorWrapper, "_execute", counting)
    return statements


AnthropicFactory = Callable[..., object]


@pytest.fixture
async def openai_sdk() -> AsyncIterator[openai.AsyncOpenAI]:
    # The SDK runs on httpx2 (its fork of httpx); the upstream side stays on httpx/respx.
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    async with openai.AsyncOpenAI(
        api_key="client-key", base_url="http://gateway.test/v1", http_client=http, max_retries=0
    ) as client:
        yield client


@pytest.fixture
def recorded_usage(monkeypatch: pytest.MonkeyPatch) -> list[UsageEvent]:
    """Every usage record the gateway makes during the test."""
    events: list[UsageEvent] = []
    monkeypatch.setattr(usage_recorder, "record", events.append)
    return events
