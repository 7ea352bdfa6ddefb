"""A key pasted as the model name (``sk-proj-…``, the gateway's own ``PROXY_API_KEY``) is
forwarded as it is, but every place that keeps the name (usage record, metrics labels,
the access line in text and JSON, a fallback's log line) keeps ``[redacted-key]``."""

import logging
from collections.abc import Iterator

import openai
import pytest

from routing.usage import usage_recorder
from teams.models import UsageRecord
from tests.gateway.conftest import make_provider
from tests.mock_upstream.harness import MockUpstream
from vandamme.logs import JsonFormatter, TextFormatter
from vandamme.secrets import REDACTED_KEY

pytestmark = pytest.mark.django_db(transaction=True)

PASTED_KEY = "sk-proj-Zq8v3KfT1nB7yXwR4mC9pL2sD6hJ0gAe5uVtY"
GATEWAY_KEY = "client-key"  # the SDK fixtures' key; not key-shaped, found by value


@pytest.fixture
def upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


@pytest.fixture
def mock_provider(upstream: MockUpstream) -> None:
    make_provider("mock", base_url=upstream.base_url, keys=("sk-upstream-key-000000000000",), is_default=True)


async def _ask(sdk: openai.AsyncOpenAI, model: str) -> None:
    await sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.usefixtures("mock_provider")
async def test_a_pasted_key_never_reaches_metrics_usage_or_access_lines(
    openai_sdk: openai.AsyncOpenAI,
    gateway_http: object,
    upstream: MockUpstream,
    caplog: pytest.LogCaptureFixture,
    settings: object,
) -> None:
    settings.PROXY_API_KEY = GATEWAY_KEY  # type: ignore[attr-defined]
    caplog.set_level(logging.INFO, logger="vandamme.access")
    await _ask(openai_sdk, PASTED_KEY)
    await _ask(openai_sdk, GATEWAY_KEY)
    assert [request["json"]["model"] for request in upstream.requests()] == [PASTED_KEY, GATEWAY_KEY]

    metrics = (await gateway_http.get("/metrics")).text  # type: ignore[attr-defined]
    assert [line for line in metrics.splitlines() if PASTED_KEY in line or GATEWAY_KEY in line] == []
    assert f'model="{REDACTED_KEY}"' in metrics

    access = [record for record in caplog.records if record.name == "vandamme.access"]
    assert len(access) == 2
    for formatter in (TextFormatter(), JsonFormatter()):
        lines = [formatter.format(record) for record in access]
        assert not [line for line in lines if PASTED_KEY in line or GATEWAY_KEY in line]
        assert all(REDACTED_KEY in line for line in lines)

    await usage_recorder.flush()
    names = [(row.model_requested, row.model_served) async for row in UsageRecord.objects.all()]
    assert names == [(REDACTED_KEY, REDACTED_KEY)] * 2


@pytest.mark.usefixtures("mock_provider")
async def test_ordinary_model_names_are_kept(openai_sdk: openai.AsyncOpenAI) -> None:
    for model in ("gpt-4o-mini", "claude-3-5-sonnet-20241022", "task-manager-v2"):
        await _ask(openai_sdk, model)
    await usage_recorder.flush()
    kept = {row.model_served async for row in UsageRecord.objects.all()}
    assert kept == {"gpt-4o-mini", "claude-3-5-sonnet-20241022", "task-manager-v2"}
