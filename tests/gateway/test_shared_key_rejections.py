"""No client can disable a provider's shared keys by asking for something the upstream
refuses for that one request (issue 10 item 6), and disabled keys come back: through the
REST API (the failure streak cleared everywhere) or, for env/TOML keys the gateway
disabled, through the next configuration load. Against the mock upstream on 127.0.0.1."""

from collections.abc import Iterator

import anthropic
import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apitokens.services import api_token_create
from providers.loaders import build_config
from providers.models import ApiKey
from providers.services import api_key_record_failure, api_key_update
from routing import failover
from tests.gateway.conftest import make_provider
from tests.mock_upstream import MockUpstream
from vandamme.configuration import config_apply

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = ("sk-test-shared-one-aaaaaaaaaaaaaaaa", "sk-test-shared-two-bbbbbbbbbbbbbbbb")
HELLO = [{"role": "user", "content": "hi"}]
NO_ACCESS = {
    "error": {
        "message": "Project `proj_abc` does not have access to model `gpt-5-pro`",
        "type": "invalid_request_error",
        "code": "model_not_found",
    }
}
BAD_KEY = {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[MockUpstream]:
    with MockUpstream() as upstream:
        yield upstream


@pytest.fixture
def upstream(shared_upstream: MockUpstream, settings: Settings) -> Iterator[MockUpstream]:
    settings.VANDAMME_SNAPSHOT_TTL = 0
    settings.VANDAMME_KEY_COOLDOWN_SECONDS = 0
    shared_upstream.reset()
    yield shared_upstream
    shared_upstream.reset()


async def _keys() -> list[ApiKey]:
    await failover.key_state_writes_done()
    return [key async for key in ApiKey.objects.order_by("id")]


async def test_a_403_for_one_model_never_disables_the_shared_keys(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await sync_to_async(make_provider)("shared", base_url=upstream.base_url, keys=KEYS, max_retries=0)
    upstream.add_rule({"match": {"model": "gpt-5-pro"}, "status": 403, "json": NO_ACCESS})
    asks = 3 * failover.KEY_DISABLE_AFTER
    for _ in range(asks):
        with pytest.raises(anthropic.PermissionDeniedError, match="does not have access to model"):
            await client.messages.create(model="shared:gpt-5-pro", max_tokens=5, messages=HELLO)
    assert len(upstream.requests()) == asks  # one upstream call each: no rotation through the pool
    keys = await _keys()
    assert [(k.enabled, k.consecutive_failures, k.last_failure_status) for k in keys] == [(True, 0, None)] * 2
    answer = await client.messages.create(model="shared:gpt-4o", max_tokens=5, messages=HELLO)
    assert answer.content


async def test_a_403_that_rejects_the_key_still_rotates_and_counts(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await sync_to_async(make_provider)("shared", base_url=upstream.base_url, keys=KEYS, max_retries=0)
    upstream.add_rule(
        {"match": {"header": "authorization", "equals": f"Bearer {KEYS[0]}"}, "status": 403, "json": BAD_KEY}
    )
    for _ in range(failover.KEY_DISABLE_AFTER):
        await client.messages.create(model="shared:gpt-4o", max_tokens=5, messages=HELLO)
    first, second = await _keys()
    assert (first.consecutive_failures, second.consecutive_failures) == (3, 0)  # round robin: 3 of 5 tried it


def _staff_api() -> APIClient:
    user = User.objects.create_user("ops-keys", is_staff=True)
    _, token = api_token_create(user=user, label="tests")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


async def test_patch_enabled_true_brings_an_auto_disabled_key_back_with_a_fresh_streak(
    upstream: MockUpstream, client: anthropic.AsyncAnthropic
) -> None:
    await sync_to_async(make_provider)("solo", base_url=upstream.base_url, keys=KEYS[:1], max_retries=0)
    upstream.add_rule({"status": 401, "json": BAD_KEY, "times": failover.KEY_DISABLE_AFTER + 1})
    for _ in range(failover.KEY_DISABLE_AFTER):
        with pytest.raises(anthropic.AuthenticationError):
            await client.messages.create(model="solo:gpt-4o", max_tokens=5, messages=HELLO)
    [key] = await _keys()
    assert (key.enabled, key.auto_disabled, key.consecutive_failures) == (False, True, 5)
    # Refused before any upstream call; "has no enabled API key" until this process's
    # snapshot has the disabled row (its own pool knows at once).
    with pytest.raises(anthropic.APIStatusError, match=r"are disabled|has no enabled API key"):
        await client.messages.create(model="solo:gpt-4o", max_tokens=5, messages=HELLO)

    api = await sync_to_async(_staff_api)()
    patched = await sync_to_async(api.patch)(f"/api/api-keys/{key.pk}/", {"enabled": True}, format="json")
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert (body["enabled"], body["auto_disabled"], body["consecutive_failures"]) == (True, False, 0)

    with pytest.raises(anthropic.AuthenticationError):  # one more rejection: streak 1, not 6
        await client.messages.create(model="solo:gpt-4o", max_tokens=5, messages=HELLO)
    [key] = await _keys()
    assert (key.enabled, key.consecutive_failures) == (True, 1)
    answer = await client.messages.create(model="solo:gpt-4o", max_tokens=5, messages=HELLO)
    assert answer.content


def _load(upstream: MockUpstream) -> list[str]:
    environ = {"SHARED_API_KEY": " ".join(KEYS), "SHARED_BASE_URL": upstream.base_url}
    return config_apply(config=build_config(environ=environ, toml_layers=[])).changes


def test_a_load_re_enables_env_keys_the_gateway_disabled_not_those_an_operator_disabled(
    upstream: MockUpstream,
) -> None:
    _load(upstream)
    auto, manual = ApiKey.objects.order_by("id")
    api_key_record_failure(
        key_id=auto.pk, status=401, reason="upstream answered 401", cooldown_until=None, disable=True
    )
    api_key_update(api_key=manual, enabled=False)
    changes = _load(upstream)
    auto.refresh_from_db()
    manual.refresh_from_db()
    assert (auto.enabled, auto.auto_disabled, auto.consecutive_failures) == (True, False, 0)
    assert (manual.enabled, manual.auto_disabled) == (False, False)
    assert any(f"re-enabled key {auto.fingerprint}" in change for change in changes)
    assert _load(upstream) == []  # idempotent: nothing left to change
