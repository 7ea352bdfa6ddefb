"""Upstream URLs and headers per provider format. Pure: no I/O."""

from collections.abc import Mapping
from urllib.parse import quote

from routing.table import ProviderConfig

DEFAULT_ANTHROPIC_VERSION = "2023-06-01"


def _anthropic_root(base_url: str) -> str:
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def is_azure(provider: ProviderConfig) -> bool:
    """Azure OpenAI: deployment URLs, ``api-key`` header, ``api-version`` query."""
    return provider.api_format == "openai" and (
        ".openai.azure.com" in provider.base_url
        or "/openai/deployments" in provider.base_url
        or (bool(provider.api_version) and provider.name.startswith("azure"))
    )


def openai_chat_url(provider: ProviderConfig, model: str) -> str:
    if is_azure(provider):
        root = provider.base_url.split("/openai/deployments")[0]
        return (
            f"{root}/openai/deployments/{quote(model, safe='')}/chat/completions"
            f"?api-version={quote(provider.api_version or '2024-10-21', safe='')}"
        )
    return f"{provider.base_url}/chat/completions"


def openai_models_url(provider: ProviderConfig) -> str:
    return f"{provider.base_url}/models"


def anthropic_messages_url(provider: ProviderConfig) -> str:
    return f"{_anthropic_root(provider.base_url)}/v1/messages"


def anthropic_count_tokens_url(provider: ProviderConfig) -> str:
    return f"{_anthropic_root(provider.base_url)}/v1/messages/count_tokens"


def auth_headers(provider: ProviderConfig, secret: str) -> dict[str, str]:
    """The header that carries ``secret`` in this provider's dialect."""
    if provider.api_format == "anthropic":
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
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
    }
    if stream:
        headers["accept-encoding"] = "identity"
    if provider.api_format == "anthropic":
        headers["anthropic-version"] = client_headers.get("anthropic-version") or DEFAULT_ANTHROPIC_VERSION
        beta = client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
    headers.update(dict(provider.custom_headers))
    return headers
