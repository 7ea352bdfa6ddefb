"""Configuring middleware: the stored form, TOML and environment layers, the example
file, the load summary, the admin's and the API's checks, and chains in the snapshot."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from providers.loaders import build_config
from providers.middleware_specs import check_importable, parse_specs, validate_middleware
from providers.models import LoadStatus, Provider, ProviderLoadResult
from providers.summary import render_summary_table
from routing.middleware.base import MiddlewareSpec
from routing.middleware.chain import BrokenMiddleware, Chain, build_chain, specs_from
from routing.middleware.guardrail import Guardrail
from routing.middleware.redactor import Redactor
from routing.middleware.run import HookFailure, HookRun, run_request_hooks
from teams.models import Team
from vandamme.configuration import config_apply

EXAMPLE_TOML = Path(__file__).resolve().parents[2] / "examples" / "middleware.toml"
GUARDRAIL = "routing.middleware.guardrail.Guardrail"


def chain_of(specs: Any) -> Chain:
    chain = build_chain(specs)
    assert chain is not None
    return chain


RUN = HookRun("messages", "anthropic_messages", "p", "m", "", streamed=False)


def test_a_json_object_is_no_list() -> None:
    with pytest.raises(ValueError, match="must be a list"):
        parse_specs({"path": "a.B"})


def test_the_stored_form_is_a_list_of_path_options_and_on_error() -> None:
    assert parse_specs(f"{GUARDRAIL}, a.B") == [
        {"path": GUARDRAIL, "options": {}, "on_error": "refuse"},
        {"path": "a.B", "options": {}, "on_error": "refuse"},
    ]
    assert parse_specs('[{"path": "a.B", "options": {"x": 1}, "on_error": "pass"}]') == [
        {"path": "a.B", "options": {"x": 1}, "on_error": "pass"}
    ]
    assert parse_specs("") == parse_specs(None) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"path": "a.B"}', "must be a list"),
        ([{"path": "nodots"}], "middleware[0].path: must be a dotted path"),
        ([{"path": "a.B", "on_error": "ignore"}], "on_error: must be 'refuse' or 'pass'"),
        ([{"path": "a.B", "option": {}}], "unknown key(s) option"),
        ([{"path": "a.B", "options": []}], "options: must be a JSON object"),
    ],
)
def test_a_bad_configuration_says_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_specs(value)


def test_global_middleware_runs_before_a_providers_own_from_toml_and_environment() -> None:
    toml = (
        "[defaults]\nmiddleware = ['routing.middleware.guardrail.Guardrail']\n"
        "[openai]\nbase-url = 'https://api.openai.com/v1'\n"
        "middleware = [{ path = 'routing.middleware.redactor.Redactor', on_error = 'pass' }]\n"
        "[poe]\nbase-url = 'https://api.poe.com/v1'\n"
    )
    env = {
        "OPENAI_API_KEY": "sk-a",
        "POE_API_KEY": "sk-b",
        "POE_MIDDLEWARE": '[{"path": "examples.middleware.SystemNote", "options": {"text": "hi"}}]',
    }
    config = build_config(environ=env, toml_layers=[(toml, "vandamme-config.toml")])
    assert not config.errors
    openai = [entry["path"] for entry in config.providers["openai"].values["middleware"]]
    poe = [entry["path"] for entry in config.providers["poe"].values["middleware"]]
    assert openai == [GUARDRAIL, "routing.middleware.redactor.Redactor"]
    assert poe == [GUARDRAIL, "examples.middleware.SystemNote"]
    assert config.providers["poe"].origins["middleware"] == "POE_MIDDLEWARE"


def test_a_global_middleware_variable_that_is_no_json_is_a_configuration_error() -> None:
    env = {"OPENAI_API_KEY": "sk-a", "VDM_MIDDLEWARE": "[oops"}
    config = build_config(environ=env, toml_layers=[("[openai]\nbase-url = 'https://x.test/v1'\n", "f")])
    assert any("VDM_MIDDLEWARE" in error and "not valid JSON" in error for error in config.errors)


def test_the_example_file_loads_and_its_middleware_builds_into_chains() -> None:
    config = build_config(environ={}, toml_layers=[(EXAMPLE_TOML.read_text(), str(EXAMPLE_TOML))])
    assert not config.errors
    entries = config.providers["openai"].values["middleware"]
    check_importable(entries)  # every path imports and accepts its options
    chain = chain_of(specs_from(entries, "provider:openai"))
    assert [hook.name.rsplit(".", 1)[1] for hook in chain.request] == ["Guardrail", "SystemNote", "Redactor"]
    assert [hook.name.rsplit(".", 1)[1] for hook in chain.stream] == ["AnswerFooter"]
    assert [hook.name.rsplit(".", 1)[1] for hook in chain.response] == ["AnswerFooter"]
    assert chain.specs[2].on_error == "pass"


def test_no_middleware_is_no_chain_and_a_teams_runs_after_the_providers() -> None:
    assert build_chain(()) is None
    provider = chain_of(specs_from([{"path": GUARDRAIL}], "global"))
    team = chain_of(specs_from([{"path": "routing.middleware.redactor.Redactor"}], "team:t"))
    both = provider + team
    assert [hook.name for hook in both.request] == [GUARDRAIL, "routing.middleware.redactor.Redactor"]
    assert not both.answers


async def test_a_middleware_that_cannot_be_built_fails_every_call_or_is_skipped_by_its_on_error() -> None:
    refuse = chain_of(specs_from([{"path": "nowhere.Missing"}], "global"))
    assert isinstance(refuse.request[0].middleware, BrokenMiddleware)
    with pytest.raises(
        HookFailure, match=r"middleware 'nowhere.Missing' failed on the request: .*cannot be imported"
    ):
        await run_request_hooks(refuse.request, RUN, {"messages": []})
    skip = chain_of(specs_from([{"path": "nowhere.Missing", "on_error": "pass"}], "global"))
    assert await run_request_hooks(skip.request, RUN, {"messages": []}) == {"messages": []}


def test_operator_middleware_checks_its_options_when_built() -> None:
    with pytest.raises(ValueError, match="patterns"):
        Guardrail({"patterns": "sk-"})
    with pytest.raises(ValueError, match=r"only \{name\}"):
        Redactor({"replacement": "{oops}"})
    broken = chain_of([MiddlewareSpec(GUARDRAIL, '{"patterns": ["("]}')])
    assert isinstance(broken.request[0].middleware, BrokenMiddleware)


async def test_the_redactor_masks_every_prompt_field_of_each_dialect_and_nothing_else() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwx"
    body: dict[str, Any] = {
        "model": "m",
        "system": [{"type": "text", "text": f"key {key}"}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": key}, {"type": "image", "source": {"data": key}}],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": key, "function": {"arguments": key}}],
            },
        ],
        "metadata": {"user_id": key},
    }
    masked = await Redactor({}).on_request(
        body, RUN.context(chain_of([MiddlewareSpec(GUARDRAIL)]).request[0])
    )
    mask = "[REDACTED:openai-style-key]"
    assert masked["system"][0]["text"] == f"key {mask}"
    assert masked["messages"][0]["content"][0]["text"] == mask
    assert masked["messages"][1]["tool_calls"][0]["function"]["arguments"] == mask
    assert masked["messages"][0]["content"][1]["source"]["data"] == key  # an image's bytes: not text
    assert masked["messages"][1]["tool_calls"][0]["id"] == key
    assert masked["metadata"] == {"user_id": key}  # not a prompt
    assert body["system"][0]["text"] == f"key {key}"  # the caller's body is left as it was


@pytest.mark.django_db
def test_the_load_summary_shows_a_providers_middleware_and_fails_one_that_cannot_load() -> None:
    toml = (
        "[openai]\nbase-url = 'https://api.openai.com/v1'\n"
        "middleware = ['routing.middleware.guardrail.Guardrail', { path = 'examples.middleware.SystemNote', "
        "options = { text = 'hi' }, on_error = 'pass' }]\n"
        "[poe]\nbase-url = 'https://api.poe.com/v1'\nmiddleware = ['nowhere.Missing']\n"
    )
    env = {"OPENAI_API_KEY": "sk-a", "POE_API_KEY": "sk-b"}
    config_apply(config=build_config(environ=env, toml_layers=[(toml, "f.toml")]))
    loaded = ProviderLoadResult.objects.get(provider_name="openai")
    assert loaded.status == LoadStatus.SUCCESS
    assert loaded.message == f"middleware: {GUARDRAIL}, examples.middleware.SystemNote (on_error=pass)"
    assert Provider.objects.get(name="openai").middleware[0]["path"] == GUARDRAIL
    failed = ProviderLoadResult.objects.get(provider_name="poe")
    assert failed.status == LoadStatus.FAILURE
    assert "middleware 'nowhere.Missing' cannot be imported" in failed.message
    assert "examples.middleware.SystemNote (on_error=pass)" in render_summary_table([loaded, failed])


@pytest.mark.django_db
def test_the_admin_field_validator_refuses_what_cannot_be_imported() -> None:
    team = Team(name="t", middleware=[{"path": "nowhere.Missing"}])
    with pytest.raises(ValidationError, match="cannot be imported"):
        team.full_clean()
    validate_middleware([{"path": GUARDRAIL, "options": {"patterns": {"ticket": "T-[0-9]+"}}}])
