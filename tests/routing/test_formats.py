"""Doors × wire formats: which cell of a door's table serves a provider, and what each
door's table holds today."""

from dataclasses import replace

import pytest

from providers.families import ApiFormat, HostedTools
from routing.doors.chat_completions import CHAT_COMPLETIONS_TABLE
from routing.doors.messages import MESSAGES_TABLE
from routing.doors.responses import RESPONSES_TABLE
from routing.formats import Door, WireFormat, hosted_tools_policy, upstream_wire
from routing.relays.responses import ResponsesUsageSniffer, responses_finished, responses_usage
from routing.table import ProviderConfig, TeamConfig

PROVIDER = ProviderConfig(
    name="p",
    api_format=ApiFormat.OPENAI,
    base_url="http://127.0.0.1:9/v1",
    api_version="",
    timeout=5,
    max_retries=0,
    custom_headers=(),
    tool_name_sanitization=False,
    passthrough=False,
    models=(),
    keys=(),
)


@pytest.mark.parametrize(
    ("door", "api_format", "responses_api", "wire"),
    [
        (Door.RESPONSES, ApiFormat.OPENAI, True, WireFormat.RESPONSES),
        (Door.RESPONSES, ApiFormat.OPENAI, False, WireFormat.CHAT_COMPLETIONS),
        (Door.RESPONSES, ApiFormat.BEDROCK, False, WireFormat.ANTHROPIC_MESSAGES),
        (Door.CHAT_COMPLETIONS, ApiFormat.OPENAI, True, WireFormat.CHAT_COMPLETIONS),
        (Door.MESSAGES, ApiFormat.OPENAI, True, WireFormat.CHAT_COMPLETIONS),
        (Door.MESSAGES, ApiFormat.VERTEX, False, WireFormat.ANTHROPIC_MESSAGES),
        (Door.CHAT_COMPLETIONS, ApiFormat.ANTHROPIC, False, WireFormat.ANTHROPIC_MESSAGES),
    ],
)
def test_upstream_wire(door: Door, api_format: ApiFormat, responses_api: bool, wire: WireFormat) -> None:
    provider = replace(PROVIDER, api_format=api_format, responses_api=responses_api)
    assert upstream_wire(door, provider) == wire


def test_the_tables_today() -> None:
    both = {WireFormat.ANTHROPIC_MESSAGES, WireFormat.CHAT_COMPLETIONS}
    assert set(MESSAGES_TABLE) == both
    assert set(CHAT_COMPLETIONS_TABLE) == both
    assert set(RESPONSES_TABLE) == {*both, WireFormat.RESPONSES}


def test_responses_usage_in_the_accounted_shape() -> None:
    usage = {
        "input_tokens": 30,
        "input_tokens_details": {"cached_tokens": 10},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 5},
    }
    assert responses_usage(usage) == {
        "input_tokens": 20,
        "output_tokens": 12,
        "cache_read_input_tokens": 10,
        "reasoning_output_tokens": 5,  # of the output, counted apart for the usage record
    }
    written = {**usage, "input_tokens_details": {"cached_tokens": 10, "cache_write_tokens": 4}}
    assert responses_usage(written) == {
        "input_tokens": 16,  # neither read from nor written to the cache, as Anthropic counts
        "output_tokens": 12,
        "cache_read_input_tokens": 10,
        "cache_creation_input_tokens": 4,
        "reasoning_output_tokens": 5,
    }
    assert responses_usage(None) is None


def test_the_sniffer_reads_only_the_terminal_event() -> None:
    sniffer = ResponsesUsageSniffer()
    delta = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"x"}\n\n'
    sniffer.feed(delta)
    assert not responses_finished(delta)
    done = (
        b"event: response.completed\n"
        b'data: {"type": "response.completed", "response": {"usage": {"input_tokens": 3, "output_tokens": 2}}}\n\n'
    )
    sniffer.feed(done)
    assert responses_finished(done)
    assert sniffer.usage == {"input_tokens": 3, "output_tokens": 2}


def test_a_team_setting_wins_over_the_provider_policy() -> None:
    refusing = replace(PROVIDER, hosted_tools=HostedTools.REFUSE)
    assert hosted_tools_policy(PROVIDER, None) == HostedTools.DROP
    assert hosted_tools_policy(refusing, TeamConfig("t")) == HostedTools.REFUSE
    assert hosted_tools_policy(refusing, TeamConfig("t", hosted_tools=HostedTools.DROP)) == HostedTools.DROP


def test_a_failed_response_is_accounted_as_its_error() -> None:
    sniffer = ResponsesUsageSniffer()
    failed = (
        b"event: response.failed\n"
        b'data: {"type": "response.failed", "response": {"usage": null, '
        b'"error": {"code": "rate_limit_exceeded", "message": "slow down"}}}\n\n'
    )
    sniffer.feed(failed)
    assert responses_finished(failed)
    assert sniffer.outcome(200) == (429, "slow down")
    assert sniffer.outcome(499) == (499, "")
    assert ResponsesUsageSniffer().outcome(200) == (200, "")
