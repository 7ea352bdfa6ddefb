"""The gateway mode (VDM_GATEWAY_MODE): open or closed, said at /ready, in the admin, in the
log when a team closes an `auto` gateway, and in the 401 a closed gateway answers."""

import logging
import os
import subprocess
import sys

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from django.test import Client

from teams.gateway_mode import gateway_mode
from teams.models import Team, TeamAlias
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE
from tests.integration.gateway import REPO_ROOT
from vandamme.asgi import application

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


@pytest.mark.parametrize(
    ("setting", "proxy_key_set", "teams_exist", "closed"),
    [
        ("auto", False, False, False),
        ("auto", False, True, True),
        ("auto", True, False, True),
        ("open", False, True, False),
        ("closed", False, False, True),
    ],
)
def test_the_mode_follows_the_setting_and_the_configuration(
    setting: str, proxy_key_set: bool, teams_exist: bool, closed: bool
) -> None:
    mode = gateway_mode(setting, proxy_key_set=proxy_key_set, teams_exist=teams_exist)
    assert mode.closed is closed
    assert mode.name == ("closed" if closed else "open")
    assert mode.reason


async def _ask(model: str, key: str | None = None) -> httpx.Response:
    headers = {"x-api-key": key} if key else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        return await http.post("/v1/messages", json=body, headers=headers)


@pytest.fixture
def team_key(providers: object) -> str:
    team = Team.objects.create(name="core", allowed_providers=["mockai"])
    TeamAlias.objects.create(team=team, name="fast", target="mockai:gpt-4o-team")
    return gateway_key_create(team=team)[1]


async def test_auto_closes_once_a_team_exists_and_the_401_says_why(team_key: str) -> None:
    response = await _ask("gpt-4o", "anything")
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "the gateway is closed (a team exists and VDM_GATEWAY_MODE=auto" in message
    assert "VDM_GATEWAY_MODE" in message


@respx.mock(assert_all_mocked=False)
async def test_an_open_gateway_serves_anyone_and_a_team_key_still_names_its_team(
    team_key: str, settings: object, respx_mock: respx.MockRouter
) -> None:
    settings.VDM_GATEWAY_MODE = "open"  # type: ignore[attr-defined]
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    assert (await _ask("gpt-4o", "anything")).status_code == 200  # no key needed
    assert (await _ask("gpt-4o")).status_code == 200
    team_call = await _ask("fast", team_key)
    assert team_call.headers["x-vandamme-model"] == "gpt-4o-team"  # the team's alias
    assert (await _ask("mockant:claude-x", team_key)).status_code == 403  # the team's allow list


async def test_closed_without_any_team_or_proxy_key_refuses(providers: object, settings: object) -> None:
    settings.VDM_GATEWAY_MODE = "closed"  # type: ignore[attr-defined]
    response = await _ask("gpt-4o", "anything")
    assert response.status_code == 401
    assert "VDM_GATEWAY_MODE=closed" in response.json()["error"]["message"]


async def test_ready_reports_the_mode_and_the_log_says_when_a_team_closes_it(
    providers: object, gateway_http: httpx.AsyncClient, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 0  # type: ignore[attr-defined]
    before = (await gateway_http.get("/ready")).json()["gateway"]
    assert before["mode"] == "open"
    assert "no PROXY_API_KEY and no team" in before["reason"]
    with caplog.at_level(logging.WARNING, logger="routing.snapshot"):
        await sync_to_async(Team.objects.create)(name="research")
        after = (await gateway_http.get("/ready")).json()["gateway"]
    assert after["mode"] == "closed"
    assert "a team exists" in after["reason"]
    changes = [r.getMessage() for r in caplog.records if "gateway mode changed" in r.getMessage()]
    assert len(changes) == 1
    assert changes[0].startswith("gateway mode changed: open → closed (a team exists and")


def _add_team_in_the_admin(admin_client: Client, name: str) -> str:
    form = {
        "name": name,
        "enabled": "on",
        "budget_period": "month",
        "spend_budget_period": "month",
        "spend_alert_percent": "80",
        "allowed_providers": "[]",
        "allowed_models": "[]",
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
        "aliases-TOTAL_FORMS": "0",
        "aliases-INITIAL_FORMS": "0",
    }
    page = admin_client.post("/admin/teams/team/add/", form, follow=True).content.decode()
    assert Team.objects.filter(name=name).exists(), page[:3000]
    return page


@pytest.mark.django_db
def test_the_admin_warns_when_a_team_closes_an_open_gateway(admin_client: Client) -> None:
    assert "Gateway: open" in admin_client.get("/admin/").content.decode()
    page = _add_team_in_the_admin(admin_client, "research")
    assert "The gateway was open; creating team &#x27;research&#x27; closed it" in page
    assert "Gateway: closed" in admin_client.get("/admin/").content.decode()
    assert "The gateway was open" not in _add_team_in_the_admin(admin_client, "second")  # closed already


def test_open_with_a_proxy_key_is_refused_at_start() -> None:
    env = {**os.environ, "VDM_GATEWAY_MODE": "open", "PROXY_API_KEY": "k", "DJANGO_SETTINGS_MODULE": ""}
    env.pop("DJANGO_SETTINGS_MODULE")
    completed = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "VDM_GATEWAY_MODE=open contradicts PROXY_API_KEY" in completed.stderr
