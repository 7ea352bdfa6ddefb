"""The dashboard shows each model group's targets with their breaker, load and latency."""

from django.test import Client

from aliases.models import Alias
from providers.services import api_key_create
from routing.groups.breaker import BreakerPolicy
from routing.groups.state import group_router
from tests.gateway.conftest import make_provider


def test_the_dashboard_shows_group_breakers(admin_client: Client) -> None:
    for name in ("east", "west"):
        api_key_create(
            provider=make_provider(name, base_url=f"https://{name}.example/v1"),
            secret=f"sk-dash-{name}-000000000000",
        )
    Alias.objects.create(
        name="gpt",
        strategy="least-busy",
        targets=[{"target": "east:gpt-4o", "rpm": 60}, {"target": "west:gpt-4o"}],
    )
    group_router.reset(BreakerPolicy(failures=1))
    group_router.failed("east:gpt-4o", 503, None)
    group_router.succeeded("west:gpt-4o", 0.25)
    page = admin_client.get("/admin/dashboard/").content.decode()
    table = page[page.index('id="model-groups"') :]
    table = table[: table.index("</table>")]
    assert "gpt (least-busy)" in table
    assert '<tr class="breaker-open">' in table
    assert "60 rpm" in table
    assert "250 ms" in table
