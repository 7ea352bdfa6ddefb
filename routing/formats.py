"""Front doors × upstream wire formats: the two axes of the routing table. Pure.

A door is the API a client speaks to vandamme (``routing.doors``); a wire format is the
API vandamme speaks to the serving provider (``routing.upstreams``). Each door module
holds one table ``{WireFormat: handler}``; ``upstream_wire`` picks the cell for a
provider. Adding a door or a wire format touches a table and one new module.
"""

from enum import StrEnum

from providers.families import ApiFormat, HostedTools
from routing.table import ProviderConfig, TeamConfig


class Door(StrEnum):
    """The API a client speaks to vandamme."""

    MESSAGES = "messages"  # Anthropic Messages: /v1/messages
    CHAT_COMPLETIONS = "chat_completions"  # OpenAI Chat Completions: /v1/chat/completions
    RESPONSES = "responses"  # OpenAI Responses: /v1/responses


class WireFormat(StrEnum):
    """The API vandamme speaks to the serving provider."""

    ANTHROPIC_MESSAGES = "anthropic_messages"  # Anthropic, Bedrock and Vertex transports
    CHAT_COMPLETIONS = "chat_completions"
    RESPONSES = "responses"


_FORMAT_WIRES = {
    ApiFormat.ANTHROPIC: WireFormat.ANTHROPIC_MESSAGES,
    ApiFormat.BEDROCK: WireFormat.ANTHROPIC_MESSAGES,
    ApiFormat.VERTEX: WireFormat.ANTHROPIC_MESSAGES,
    ApiFormat.OPENAI: WireFormat.CHAT_COMPLETIONS,
}


def upstream_wire(door: Door, provider: ProviderConfig) -> WireFormat:
    """The wire format a call through ``door`` takes to ``provider``: the Responses API
    where the door is Responses and the provider speaks it natively, else the body its
    format takes."""
    if door == Door.RESPONSES and provider.responses_api:
        return WireFormat.RESPONSES
    return _FORMAT_WIRES[ApiFormat(provider.api_format)]


def hosted_tools_policy(provider: ProviderConfig, team: TeamConfig | None) -> HostedTools:
    """What a door does with hosted tools (``web_search`` …) ``provider`` cannot run: the
    calling team's setting where it has one (``call.auth.team``), else the provider's."""
    if team is not None and team.hosted_tools is not None:
        return team.hosted_tools
    return provider.hosted_tools
