"""What kind of upstream a provider is: its wire format, its family, its capabilities. Pure.

The format says which body the provider takes (OpenAI Chat Completions, Anthropic
Messages, or Anthropic Messages on AWS Bedrock or Google Vertex). The family says whose
API it is, which decides its quirks (Gemini's thought signatures, DeepSeek's reasoning,
OpenRouter's reasoning details) and Azure's URLs and header. Both are declared on the
provider; the name/host guess here only fills in the family a load or the admin leaves
undeclared, once, when the row is written, never at request time.
"""

from enum import StrEnum


class ApiFormat(StrEnum):
    """The wire format a provider takes (``Provider.api_format``)."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    VERTEX = "vertex"

    @property
    def label(self) -> str:
        return _FORMAT_LABELS[self]


_FORMAT_LABELS = {
    ApiFormat.OPENAI: "OpenAI Chat Completions",
    ApiFormat.ANTHROPIC: "Anthropic Messages",
    ApiFormat.BEDROCK: "AWS Bedrock (Anthropic models)",
    ApiFormat.VERTEX: "Google Vertex AI (Anthropic models)",
}
# Formats that take Anthropic Messages bodies (possibly on another wire).
ANTHROPIC_BODY_FORMATS = frozenset({ApiFormat.ANTHROPIC, ApiFormat.BEDROCK, ApiFormat.VERTEX})


class ProviderFamily(StrEnum):
    """Whose API a provider is (``Provider.family``)."""

    OPENAI = "openai"
    AZURE = "azure"
    GEMINI = "gemini"
    DEEPSEEK = "deepseek"
    OPENROUTER = "openrouter"
    OLLAMA = "ollama"
    POE = "poe"
    COMPATIBLE = "compatible"
    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    VERTEX = "vertex"

    @property
    def label(self) -> str:
        return _FAMILY_LABELS.get(self, self.value.capitalize())


_FAMILY_LABELS = {
    ProviderFamily.OPENAI: "OpenAI",
    ProviderFamily.AZURE: "Azure OpenAI",
    ProviderFamily.DEEPSEEK: "DeepSeek",
    ProviderFamily.OPENROUTER: "OpenRouter",
    ProviderFamily.COMPATIBLE: "Other OpenAI-compatible API",
    ProviderFamily.BEDROCK: "AWS Bedrock",
    ProviderFamily.VERTEX: "Google Vertex AI",
}


class HostedTools(StrEnum):
    """What the Responses door does with hosted tools (``web_search`` …) the serving
    provider cannot run: drop them (Codex always sends ``web_search``) or refuse with a 400."""

    DROP = "drop"
    REFUSE = "refuse"

    @property
    def label(self) -> str:
        return "drop (log and header)" if self is HostedTools.DROP else "refuse (400 naming the tool)"


def choices_of(enum: type[ApiFormat] | type[ProviderFamily] | type[HostedTools]) -> list[tuple[str, str]]:
    """Django ``choices`` for one of these enums."""
    return [(member.value, member.label) for member in enum]


# The family a format implies when it is not OpenAI's: only OpenAI-format APIs differ.
_FORMAT_FAMILIES = {
    ApiFormat.ANTHROPIC: ProviderFamily.ANTHROPIC,
    ApiFormat.BEDROCK: ProviderFamily.BEDROCK,
    ApiFormat.VERTEX: ProviderFamily.VERTEX,
}
# OpenAI-format APIs recognised by host, or by provider name (self-hosted gateways in
# front of them), in this order.
_FAMILY_HOSTS: tuple[tuple[ProviderFamily, tuple[str, ...]], ...] = (
    (ProviderFamily.GEMINI, ("generativelanguage.googleapis.com", "aiplatform.googleapis.com")),
    (ProviderFamily.DEEPSEEK, ("api.deepseek.com",)),
    (ProviderFamily.OPENROUTER, ("openrouter.ai",)),
    (ProviderFamily.POE, ("api.poe.com",)),
    (ProviderFamily.OPENAI, ("api.openai.com",)),
)
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
AZURE_V1_PATH = "/openai/v1"
OLLAMA_PORT = ":11434"


def guess_family(name: str, api_format: str, base_url: str, api_version: str = "") -> ProviderFamily:
    """The family a provider most likely is, from its format, name and base URL: the
    default filled in when none is declared (shown, and editable, in the admin)."""
    try:
        implied = _FORMAT_FAMILIES.get(ApiFormat(api_format))
    except ValueError:
        implied = None
    if implied is not None:
        return implied
    if _looks_azure(name, base_url, api_version):
        return ProviderFamily.AZURE
    for family, hosts in _FAMILY_HOSTS:
        if name.startswith(family.value) or any(host in base_url for host in hosts):
            return family
    if name.startswith("ollama") or OLLAMA_PORT in base_url:
        return ProviderFamily.OLLAMA
    return ProviderFamily.COMPATIBLE


def _looks_azure(name: str, base_url: str, api_version: str) -> bool:
    return (
        any(host in base_url for host in AZURE_HOSTS)
        or "/openai/deployments" in base_url
        or (name.startswith("azure") and (bool(api_version) or is_azure_v1_url(base_url)))
    )


def is_azure_v1_url(base_url: str) -> bool:
    """Azure's v1 API (model names, no ``api-version``): a base URL ending ``/openai/v1``."""
    return base_url.rstrip("/").endswith(AZURE_V1_PATH)


def default_responses_api(family: str, base_url: str) -> bool:
    """Whether a provider of this family speaks OpenAI's Responses API natively, unless
    declared: OpenAI does; Azure only on its v1 API; nobody else."""
    if family == ProviderFamily.OPENAI:
        return True
    if family == ProviderFamily.AZURE:
        return is_azure_v1_url(base_url)
    return False
