"""The packaged defaults: middleware a provider gets without any configuration (its
family's quirks, ``routing.middleware.quirks``), ahead of the global and its own.

Still in the translation, not here: OpenRouter's ``reasoning_details`` (its answer side
is inside the Chat Completions → Anthropic translators, whole and streamed, where the
entries are merged from fragments: answer hooks see the client's dialect, after them)
and every quirk of the Responses door (its own translation, with the tool names and the
flat names of its namespaced tools in one map: ``routing.translation.responses_request``).
"""

from providers.families import ProviderFamily
from routing.middleware.base import MiddlewareSpec

BUILTIN_MIDDLEWARE: dict[ProviderFamily, tuple[str, ...]] = {
    ProviderFamily.GEMINI: ("routing.middleware.quirks.GeminiThoughtSignatures",),
    ProviderFamily.DEEPSEEK: ("routing.middleware.quirks.DeepSeekReasoningContent",),
}


# On for a provider whose ``tool_name_sanitization`` flag is set, whatever its family.
TOOL_NAME_SANITIZATION = "routing.middleware.tool_names.ToolNameSanitization"


def builtin_specs(family: str, *, tool_name_sanitization: bool = False) -> tuple[MiddlewareSpec, ...]:
    paths = BUILTIN_MIDDLEWARE.get(ProviderFamily(family), ()) if family else ()
    if tool_name_sanitization:
        paths = (TOOL_NAME_SANITIZATION, *paths)
    return tuple(MiddlewareSpec(path, scope="built-in") for path in paths)
