"""The text of a prompt in any dialect's request body, for middleware that reads or
rewrites it (the guardrail, the redactor). Pure.

Prompt text lives under ``messages`` (Chat Completions, Anthropic Messages, Bedrock and
Vertex bodies), ``system``, ``input`` and ``instructions`` (Responses) and ``prompt``;
within them, in strings that are a ``content``, ``text``, ``input``, ``output`` or
``arguments`` (tool calls and results carry text too), never an id, a type, a role, a
signature or an image's base64 ``data``.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

PROMPT_FIELDS = ("messages", "system", "input", "instructions", "prompt")
TEXT_KEYS = frozenset({*PROMPT_FIELDS, "content", "text", "output", "arguments", "thinking"})

# Secrets people paste into prompts: the guardrail's and the redactor's defaults.
SECRET_PATTERNS: dict[str, str] = {
    "openai-style-key": r"\bsk-[A-Za-z0-9_-]{20,}",
    "aws-access-key-id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "private-key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)?",
    "github-token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "slack-token": r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
}


def compiled_patterns(options: Mapping[str, Any]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """``options["patterns"]``: a table of name = regex, or a list of regexes (named by
    position); absent: ``SECRET_PATTERNS``. ``"secrets": true`` adds those to the given
    ones. Raises ValueError (or re.error) for a bad option, when the chain is built."""
    given = options.get("patterns")
    if given is None:
        table: dict[str, str] = dict(SECRET_PATTERNS)
    elif isinstance(given, dict):
        table = {str(name): str(regex) for name, regex in given.items()}
    elif isinstance(given, list):
        table = {f"pattern-{index + 1}": str(regex) for index, regex in enumerate(given)}
    else:
        raise ValueError("patterns: must be a table of name = regex, or a list of regexes")
    if given is not None and options.get("secrets") is True:
        table = {**SECRET_PATTERNS, **table}
    if not table:
        raise ValueError("patterns: at least one pattern is needed")
    return tuple((name, re.compile(regex)) for name, regex in table.items())


def _rewritten(value: Any, rewrite: Callable[[str], str], in_text: bool) -> Any:
    if isinstance(value, str):
        return rewrite(value) if in_text else value
    if isinstance(value, list):
        return [_rewritten(item, rewrite, in_text) for item in value]
    if isinstance(value, dict):
        return {key: _rewritten(item, rewrite, key in TEXT_KEYS) for key, item in value.items()}
    return value


def rewrite_prompt(body: dict[str, Any], rewrite: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``body`` with ``rewrite`` applied to every piece of prompt text."""
    return {
        key: _rewritten(value, rewrite, True) if key in PROMPT_FIELDS else value
        for key, value in body.items()
    }


def prompt_texts(body: dict[str, Any]) -> list[str]:
    """Every piece of prompt text in ``body``, in order."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    rewrite_prompt(body, collect)
    return found
