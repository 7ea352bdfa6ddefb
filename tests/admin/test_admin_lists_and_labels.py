"""The admin a team lead uses: list fields edited one item per line (stored as the same
JSON list the API writes), readable labels, keys set by the environment naming their
variable, and a favicon on every admin page (no /favicon.ico 404)."""

import pytest
from django.test import Client
from django.urls import reverse

from providers.admin_lists import LinesField
from providers.models import ApiKey, Provider, Source
from providers.services import api_key_create
from teams.models import Team

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (
            "openai:gpt-4o*\n\n  fast  \r\nopenrouter:x/y:free\n",
            ["openai:gpt-4o*", "fast", "openrouter:x/y:free"],
        ),
        ("", []),
        ("\n \n", []),
        ('["a", "b"]', ["a", "b"]),  # a JSON list pasted in, as the field was edited before
        ("[not json", ["[not json"]),
    ],
)
def test_lines_become_the_stored_list(typed: str, stored: list[str]) -> None:
    assert LinesField(required=False).clean(typed) == stored


def test_a_stored_list_is_shown_one_item_per_line() -> None:
    assert LinesField().prepare_value(["a", "b:c"]) == "a\nb:c"
    assert not LinesField().has_changed(["a", "b"], "a\n\nb\n")


def test_a_team_saved_in_the_admin_stores_its_allow_lists_as_lists(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:teams_team_add")).content.decode()
    assert 'class="vLinesField"' in page
    assert "One per line." in page
    data = {
        "name": "research",
        "enabled": "on",
        "allowed_providers": "openai\nopenrouter",
        "allowed_models": "openai:gpt-4o*\nfast\n",
        "hosted_tools": "",
        "budget_period": "month",
        "spend_budget_period": "month",
        "spend_alert_percent": "80",
        **{
            f"{prefix}-{name}": value
            for prefix in ("keys", "aliases")
            for name, value in {
                "TOTAL_FORMS": "0",
                "INITIAL_FORMS": "0",
                "MIN_NUM_FORMS": "0",
                "MAX_NUM_FORMS": "1000",
            }.items()
        },
    }
    response = admin_client.post(reverse("admin:teams_team_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get()
    assert (team.allowed_providers, team.allowed_models) == (
        ["openai", "openrouter"],
        ["openai:gpt-4o*", "fast"],
    )
    change = admin_client.get(reverse("admin:teams_team_change", args=[team.pk])).content.decode()
    assert "openai:gpt-4o*\nfast</textarea>" in change


def test_provider_labels_read_as_words(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:providers_provider_add")).content.decode()
    for label in ("API format:", "Base URL:", "API version:", "Default provider", "Timeout (seconds):"):
        assert label in page
    assert "Api format" not in page
    assert "Base url" not in page


def test_a_key_set_by_the_environment_names_its_variable_not_an_empty_box(admin_client: Client) -> None:
    provider = Provider.objects.create(name="my-llm", base_url="http://x.test/v1", source=Source.ENV)
    key = api_key_create(provider=provider, secret="sk-env-loaded-key-0123456789", label="")
    ApiKey.objects.filter(pk=key.pk).update(source=Source.ENV)
    page = admin_client.get(reverse("admin:providers_provider_change", args=[provider.pk])).content.decode()
    assert "set by MY_LLM_API_KEY" in page
    assert 'name="keys-0-secret"' not in page  # no disabled password box for it
    key_page = admin_client.get(reverse("admin:providers_apikey_change", args=[key.pk])).content.decode()
    assert "set by MY_LLM_API_KEY" in key_page
    assert "sk-env-loaded-key-0123456789" not in page + key_page


@pytest.mark.parametrize(
    "name", ["admin:index", "admin:providers_provider_changelist", "admin:teams_team_add"]
)
def test_every_admin_page_carries_its_favicon(admin_client: Client, name: str) -> None:
    page = admin_client.get(reverse(name)).content.decode()
    assert '<link rel="icon" href="data:image/svg+xml,' in page
