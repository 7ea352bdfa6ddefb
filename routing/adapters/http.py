"""Upstream URLs and headers per provider format. Pure: no I/O."""

from collections.abc import Mapping
from urllib.parse import quote

from providers.families import ApiFormat, ProviderFamily, is_azure_v1_url
from routing.table import ProviderConfig
from routing.translation import ProviderQuirks

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


def _anthropic_root(base_url: str) -> str:
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def is_azure(provider: ProviderConfig) -> bool:
    """Azure OpenAI (declared family): ``api-key`` header; deployment URLs with an
    ``api-version`` query, or (base URL ending in ``/openai/v1``) the v1 API that takes
    model names."""
    return provider.family == ProviderFamily.AZURE


def _is_azure_v1(provider: ProviderConfig) -> bool:
    return is_azure_v1_url(provider.base_url)


def openai_chat_url(provider: ProviderConfig, model: str) -> str:
    if is_azure(provider) and not _is_azure_v1(provider):
        root = provider.base_url.split("/openai/deployments")[0]
        return (
            f"{root}/openai/deployments/{quote(model, safe='')}/chat/completions"
            f"?api-version={quote(provider.api_version or '2024-10-21', safe='')}"
        )
    return f"{provider.base_url}/chat/completions"


def provider_quirks(provider: ProviderConfig) -> ProviderQuirks:
    """What this OpenAI-format provider needs back on later turns (see ``provider_state``),
    by its declared family."""
    return ProviderQuirks(
        thought_signatures=provider.family == ProviderFamily.GEMINI,
        reasoning_on_tool_turns=provider.family == ProviderFamily.DEEPSEEK,
        reasoning_details=provider.family == ProviderFamily.OPENROUTER,
    )


def messages_door_quirks(provider: ProviderConfig) -> ProviderQuirks:
    """What the Anthropic door's translation still does itself for this provider: only
    OpenRouter's ``reasoning_details``. Gemini's thought signatures and DeepSeek's
    ``reasoning_content`` go back through built-in middleware (``routing.middleware.quirks``)."""
    return ProviderQuirks(reasoning_details=provider.family == ProviderFamily.OPENROUTER)


def openai_responses_url(provider: ProviderConfig) -> str:
    """OpenAI's Responses endpoint; Azure's v1 API has it at the same path."""
    return f"{provider.base_url}/responses"


def openai_models_url(provider: ProviderConfig) -> str:
    return f"{provider.base_url}/models"


def anthropic_messages_url(provider: ProviderConfig) -> str:
    return f"{_anthropic_root(provider.base_url)}/v1/messages"


def anthropic_count_tokens_url(provider: ProviderConfig) -> str:
    return f"{_anthropic_root(provider.base_url)}/v1/messages/count_tokens"


def auth_headers(provider: ProviderConfig, secret: str) -> dict[str, str]:
    """The header that carries ``secret`` in this provider's dialect (none without a secret:
    a keyless provider such as Ollama)."""
    if not secret:
        return {}
    if provider.api_format == ApiFormat.ANTHROPIC:
        return {"x-api-key": secret}
    if is_azure(provider):
        return {"api-key": secret}
    return {"authorization": f"Bearer {secret}"}


def base_headers(
    provider: ProviderConfig, client_headers: Mapping[str, str], *, stream: bool
) -> dict[str, str]:
    """Headers for one upstream request, before authentication.

    Streams ask for an identity encoding so bytes can be relayed exactly as they come.
    """
    # Bedrock streams event-stream frames, not SSE, and is asked as AWS's clients ask it.
    sse = stream and provider.api_format != ApiFormat.BEDROCK
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if sse else "application/json",
    }
    if stream:
        headers["accept-encoding"] = "identity"
    if provider.api_format == ApiFormat.ANTHROPIC:
        headers["anthropic-version"] = client_headers.get("anthropic-version") or DEFAULT_ANTHROPIC_VERSION
    beta = client_headers.get("anthropic-beta")
    # Bedrock takes betas in the body.
    if beta and provider.api_format in (ApiFormat.ANTHROPIC, ApiFormat.VERTEX):
        headers["anthropic-beta"] = beta
    headers.update(dict(provider.custom_headers))
    return headers
