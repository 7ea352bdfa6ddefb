"""Model groups through every way of configuring them: the REST API and the admin refuse
bad groups with a clear message; a load reports them and loads the rest; resolve_model
and /v1/vandamme/resolve show the group and the choice."""

from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from aliases.models import Alias
from providers.loaders import build_config
from providers.models import Provider
from providers.services import api_key_create
from tests.api.conftest import RecordingClient
from vandamme.asgi import application
from vandamme.configuration import config_apply

GROUP = [
    {"target": "east:gpt-4o", "weight": 3},
    {"target": "west:gpt-4o", "weight": 1, "tier": 2, "rpm": 600},
]


@pytest.fixture
def regions(db: None) -> None:
    for name in ("east", "west"):
        provider = Provider.objects.create(name=name, base_url=f"https://{name}.example/v1")
        api_key_create(provider=provider, secret=f"sk-group-test-{name}-0000000000")


def test_the_api_creates_a_group_and_fills_its_target(api: RecordingClient, regions: None) -> None:
    response = api.post(
        "/api/aliases/", {"name": "gpt", "targets": GROUP, "strategy": "least-busy"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["target"] == "east:gpt-4o"
    assert body["strategy"] == "least-busy"
    assert body["targets"] == GROUP


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "a target, or a group's targets, is required"),
        ([{"target": "east:gpt-4o", "weight": 0}], "weight must be a positive number"),
        ([{"target": "east:gpt-4o", "weight": -2}], "weight must be a positive number"),
        ([{"target": "nowhere:gpt-4o"}], "unknown target 'nowhere:gpt-4o'"),
        ([{"target": "east:gpt-4o"}, {"target": "loop"}], "a cycle through groups: gpt → loop → gpt"),
    ],
)
def test_the_api_refuses_bad_groups(
    api: RecordingClient, regions: None, targets: list[object], message: str
) -> None:
    Alias.objects.create(name="loop", targets=[{"target": "gpt"}, {"target": "west:gpt-4o"}])
    response = api.post("/api/aliases/", {"name": "gpt", "targets": targets}, format="json")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Alias.objects.filter(name="gpt").exists()


def test_the_admin_refuses_a_bad_group_and_saves_a_good_one(admin_client: Client, regions: None) -> None:
    form = {"name": "gpt", "target": "", "targets": '[{"target": "east:gpt-4o", "weight": "x"}]'}
    form |= {"strategy": "weighted-random", "fallbacks": "[]"}
    page = admin_client.post(reverse("admin:aliases_alias_add"), form)
    assert page.status_code == 200
    assert "weight must be a positive number" in page.content.decode()
    form["targets"] = '[{"target": "east:gpt-4o"}, {"target": "west:gpt-4o"}]'
    assert admin_client.post(reverse("admin:aliases_alias_add"), form).status_code == 302
    assert Alias.objects.get(name="gpt").target == "east:gpt-4o"
    listing = admin_client.get(reverse("admin:aliases_alias_changelist")).content.decode()
    assert "2 targets, weighted-random" in listing


def test_a_load_reports_bad_groups_and_loads_the_rest(db: None) -> None:
    environ = {
        "EAST_API_KEY": "sk-group-east-000000000000",
        "EAST_BASE_URL": "https://east.example/v1",
        "WEST_API_KEY": "sk-group-west-000000000000",
        "WEST_BASE_URL": "https://west.example/v1",
        "VDM_ALIAS_GPT": "east:gpt-4o;weight=3, west:gpt-4o",
        "VDM_GROUP_STRATEGY_GPT": "lowest-latency",
        "VDM_ALIAS_TYPO": "east:gpt-4o, nowhere:gpt-4o",
        "VDM_ALIAS_ZERO": "east:gpt-4o;weight=0, west:gpt-4o",
        "VDM_ALIAS_PING": "pong, east:gpt-4o",
        "VDM_ALIAS_PONG": "ping, west:gpt-4o",
        "VDM_ALIAS_PLAIN": "west:gpt-4o-mini",
    }
    report = config_apply(config=build_config(environ=environ, toml_layers=[]))
    errors = "\n".join(report.errors)
    assert "group 'typo' (VDM_ALIAS_TYPO): unknown target 'nowhere:gpt-4o'" in errors
    assert "VDM_ALIAS_ZERO: group 'zero'" in errors
    assert "weight must be a positive number" in errors
    assert "a cycle through groups: ping → pong → ping" in errors
    loaded = {alias.name: alias for alias in Alias.objects.all()}
    assert set(loaded) == {"gpt", "plain"}
    assert loaded["gpt"].strategy == "lowest-latency"
    assert [t["target"] for t in loaded["gpt"].targets] == ["east:gpt-4o", "west:gpt-4o"]


def test_resolve_model_shows_the_group_and_its_choice(regions: None) -> None:
    Alias.objects.create(name="gpt", targets=GROUP)
    out = StringIO()
    call_command("resolve_model", "gpt", stdout=out)
    text = out.getvalue()
    assert "global alias, group of 2 targets (weighted-random) → 'east:gpt-4o' (tier 1" in text
    assert "provider east, model 'gpt-4o'" in text
    assert "→ east:gpt-4o (weight 3, tier 1, breaker closed)" in text
    assert "west:gpt-4o (weight 1, tier 2, rpm 600, breaker closed)" in text
    assert "fallback: west:gpt-4o" in text


@pytest.mark.django_db(transaction=True)
async def test_the_resolve_endpoint_shows_the_group(regions: None) -> None:
    await Alias.objects.acreate(name="gpt", targets=GROUP, target="east:gpt-4o")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        body = (await http.get("/v1/vandamme/resolve", params={"model": "gpt"})).json()
    assert body["provider"] == "east"
    assert body["group"]["chosen"] == "east:gpt-4o"
    assert body["group"]["order"] == ["east:gpt-4o", "west:gpt-4o"]
    assert body["group"]["targets"][1] == {**GROUP[1], "breaker": "closed"}
    assert body["fallbacks"] == ["west:gpt-4o"]
