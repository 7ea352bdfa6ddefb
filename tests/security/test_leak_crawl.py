"""The leak crawl: secrets fed through every path never come back out.

Key-shaped strings go in as model names (both doors, streamed and not, and the resolve
endpoint), as custom header values (REST API and admin), as an upstream key (REST API)
that a mock upstream on 127.0.0.1 echoes in its error messages, and as gateway keys (a
team's key, ``PROXY_API_KEY``, a REST API token). Then the crawl reads every log line the
gateway and the HTTP servers wrote (text and JSON), ``/metrics``, every admin page (each
changelist, add, change and history page, as superuser), every REST API response, the
output of ``manage.py status`` and ``config_summary``, and every database row (the audit
log included), and fails naming each place a secret's value appears.
"""

import asyncio
import json
import logging
import secrets
import string
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import uvicorn
from daphne.management.commands.runserver import Command as DaphneRunserver
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apitokens.services import api_token_create
from routing.usage import usage_recorder
from teams.models import UsageRecord
from teams.services import gateway_key_create, team_create
from tests.api.conftest import RecordingClient
from tests.integration.gateway import free_port
from tests.mock_upstream.harness import MockUpstream
from tests.security.crawl import (
    Harvest,
    admin_pages,
    api_responses,
    command_outputs,
    database_rows,
    find_leaks,
    log_lines,
)
from vandamme.asgi import application
from vandamme.secrets import REDACTED_KEY

pytestmark = pytest.mark.django_db(transaction=True)

ALNUM = string.ascii_letters + string.digits
SERVER_ACCESS_LOGGERS = ("uvicorn.access", "django.channels.server")


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


# Pasted as model names; the gateway's own keys join them once made.
MODEL_KEYS = {
    "openai project key": "sk-proj-" + _random(ALNUM, 40),
    "anthropic key": "sk-ant-api03-" + _random(ALNUM, 60),
    "aws access key id": "AKIA" + _random(string.ascii_uppercase + string.digits, 16),
    "google api key": "AIza" + _random(ALNUM, 35),
    "bearer-like token": secrets.token_hex(20) + "a1",
}
PROXY_KEY = f"correct-horse-battery-{secrets.token_hex(3)}"  # not key-shaped: found by value
UPSTREAM_KEY = "sk-upstream-" + _random(ALNUM, 32)
# Secret by name, not by shape: masking must go by the header's name.
HEADER_SECRETS = {
    "Ocp-Apim-Subscription-Key": f"apim-{secrets.token_hex(4)}-sub",
    "X-Auth": f"xauth-{secrets.token_hex(4)}-value",
    "Authorization": f"Bearer tok-{secrets.token_hex(4)}-abc",
    "X-Client-Secret": f"client-{secrets.token_hex(4)}-secret",
    "X-Request-Signature": f"sig-{secrets.token_hex(4)}-nature",
    "X-Upstream-Password": f"pw-{secrets.token_hex(4)}-word",
}
# Answered with a 401 whose message holds the upstream key (as OpenAI's "Incorrect API key").
ECHO_KEY_MODEL = "echo-the-key"
MESSAGES = [{"role": "user", "content": "hi"}]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: dict[int, logging.LogRecord] = {}  # by id: a record seen twice counts once

    def emit(self, record: logging.LogRecord) -> None:
        self.records[id(record)] = record


@pytest.fixture
def captured_logs() -> Iterator["_Records"]:
    """Every record at DEBUG and above, from the root logger and the servers' access
    loggers (which need not propagate)."""
    handler = _Records()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in SERVER_ACCESS_LOGGERS)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _configure_through_the_api(api: RecordingClient, admin_client: Client, upstream: MockUpstream) -> None:
    """A default provider with secret headers and the upstream key, set through the REST
    API (then read back and saved again: "keep" the masked values), and a second
    provider with the same headers added in the admin."""
    headers = {**HEADER_SECRETS, "X-Title": "crawl"}
    provider = {"name": "mockai", "base_url": upstream.base_url, "is_default": True, "max_retries": 0}
    created = api.post("/api/providers/", {**provider, "custom_headers": headers}, format="json")
    assert created.status_code == 201, created.content
    shown = created.json()["custom_headers"]
    patched = api.patch(
        "/api/providers/mockai/", {"custom_headers": {**shown, "X-Title": "crawl 2"}}, format="json"
    )
    assert patched.status_code == 200, patched.content
    key = api.post("/api/api-keys/", {"provider": "mockai", "secret": UPSTREAM_KEY}, format="json")
    assert key.status_code == 201, key.content
    form = {
        "name": "spare",
        "api_format": "openai",
        "hosted_tools": "drop",
        "base_url": upstream.base_url,
        "timeout": "60",
        "max_retries": "0",
        "custom_headers": json.dumps(headers),
        "models_list": "[]",
        "fallbacks": "[]",
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
        "keys-MIN_NUM_FORMS": "0",
        "keys-MAX_NUM_FORMS": "1000",
    }
    added = admin_client.post(reverse("admin:providers_provider_add"), form)
    assert added.status_code == 302, added.content.decode()[:2000]


async def _one_of_each(claude: anthropic.AsyncAnthropic, gpt: openai.AsyncOpenAI, model: str) -> list[str]:
    """A message (Anthropic door) and a stream (OpenAI door) for ``model``; the error
    texts the clients got, if any."""
    errors: list[str] = []
    try:
        await claude.messages.create(model=model, max_tokens=16, messages=MESSAGES)
    except anthropic.APIStatusError as error:
        errors.append(error.response.text)
    try:
        stream = await gpt.chat.completions.create(model=model, messages=MESSAGES, stream=True)
        errors += [chunk.model_dump_json() async for chunk in stream if not chunk.choices]
    except openai.APIStatusError as error:
        errors.append(error.response.text)
    return errors


async def _traffic(models: list[str], team_key: str) -> tuple[list[str], str]:
    """Every model name through both doors and the resolve endpoint; the error texts
    clients got and the ``/metrics`` page afterwards."""
    base = "http://gateway.test"
    claude_http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    gpt_http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    errors: list[str] = []
    async with (
        anthropic.AsyncAnthropic(
            api_key=PROXY_KEY, base_url=base, http_client=claude_http, max_retries=0
        ) as claude,
        openai.AsyncOpenAI(
            api_key=team_key, base_url=f"{base}/v1", http_client=gpt_http, max_retries=0
        ) as gpt,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url=base) as http,
    ):
        for model in [*models, f"mockai:{models[0]}", ECHO_KEY_MODEL]:
            errors += await _one_of_each(claude, gpt, model)
            await http.get("/v1/vandamme/resolve", params={"model": model}, headers={"x-api-key": PROXY_KEY})
        metrics = (await http.get("/metrics")).text
    return errors, metrics


def _server_access_lines(models: list[str]) -> None:
    """The HTTP servers' own access lines for ``/v1/vandamme/resolve?model=…``: a real
    uvicorn on 127.0.0.1 with its access log on, and daphne's ``runserver`` line."""
    port = free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            _wait_for(http)
            for model in models:
                http.get("/v1/vandamme/resolve", params={"model": model}, headers={"x-api-key": PROXY_KEY})
    finally:
        server.should_exit = True
        thread.join(10)
    runserver = DaphneRunserver()
    for model in models:
        path = str(httpx.URL("/v1/vandamme/resolve", params={"model": model}))
        details = {"path": path, "status": 200, "method": "GET", "client": "127.0.0.1:1", "time_taken": 0.01}
        runserver.log_action("http", "complete", details)


def _wait_for(http: httpx.Client) -> None:
    for _ in range(100):
        try:
            http.get("/health")
            return
        except httpx.TransportError:
            threading.Event().wait(0.05)
    raise RuntimeError("uvicorn did not start")


def test_no_secret_leaks_anywhere(settings: Any, admin_client: Client, captured_logs: _Records) -> None:
    settings.PROXY_API_KEY = PROXY_KEY
    staff = User.objects.create_user("ops", is_staff=True)
    _, api_token = api_token_create(user=staff, label="crawl")
    api = RecordingClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token}")
    _, team_key = gateway_key_create(team=team_create(name="core"))
    model_keys = {**MODEL_KEYS, "team gateway key": team_key, "PROXY_API_KEY": PROXY_KEY}
    with MockUpstream() as upstream:
        upstream.add_rule(
            {
                "match": {"model": ECHO_KEY_MODEL},
                "status": 401,
                "json": {"error": {"message": f"Incorrect API key provided: {UPSTREAM_KEY}", "type": "auth"}},
            }
        )
        _configure_through_the_api(api, admin_client, upstream)
        client_errors, metrics = asyncio.run(_traffic(list(model_keys.values()), team_key))
        _server_access_lines(list(model_keys.values()))
        sent_upstream = upstream.requests()
    usage_recorder.flush_sync()
    # Not a vacuous crawl: the sealed headers were opened and sent upstream.
    assert all(request["headers"].get("x-auth") == HEADER_SECRETS["X-Auth"] for request in sent_upstream)

    every_secret = {
        **model_keys,
        **{f"header {name}": value for name, value in HEADER_SECRETS.items()},
        "upstream key": UPSTREAM_KEY,
        "REST API token": api_token,
    }
    harvest: Harvest = [
        *log_lines(captured_logs.records.values()),
        ("/metrics", metrics),
        *admin_pages(admin_client),
        *api_responses(api),
        *command_outputs("status", "config_summary"),
        *database_rows(),
    ]
    # What clients get back may echo their own model name, never an upstream's secret.
    upstream_secrets = {name: value for name, value in every_secret.items() if name not in model_keys}
    leaks = find_leaks(harvest, every_secret) + find_leaks(
        [("client error", text) for text in client_errors], upstream_secrets
    )
    report = "\n".join(f"  {leak.place}: {leak.secret}" for leak in leaks)
    assert not leaks, f"{len(leaks)} leaks in {len(harvest)} places crawled:\n{report}"
    # And the calls were recorded, their pasted keys as [redacted-key].
    assert UsageRecord.objects.filter(model_requested=REDACTED_KEY).count() >= 2 * len(model_keys)
