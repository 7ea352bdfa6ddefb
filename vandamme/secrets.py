"""Recognising secrets in text the gateway keeps or shows. Pure: no Django, no I/O.

Two rules, one per kind of place:
- ``redact_keys`` replaces each key-shaped substring of a text (an error message, a log
  argument, a query string) with ``[redacted]``;
- ``safe_model_name`` replaces a whole model name with ``[redacted-key]`` when it holds a
  key (a client that pasted its key in the ``model`` field): metrics labels, usage
  records, access lines and pages then show that a key was sent, never the key.

"Key-shaped" is deliberately about keys, not about long names: vendor prefixes
(OpenAI/Anthropic ``sk-``, Stripe-style ``sk_``, our ``vdm-``/``vdmapi-``, AWS
``AKIA``/``ASIA``, Google ``AIza`` and ``ya29.``, GitHub ``ghp_``…), a ``Bearer`` token,
and random-looking runs: 24 or more letters and digits in a row, both present (a hex or
base62 secret). Long identifiers made of words (``GenerateContentInputTokensPerMinute``,
``claude-3-5-sonnet-20241022``, ``projects/…/locations/…``, a UUID) are not keys.
"""

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
REDACTED_KEY = "[redacted-key]"

# Vendor prefixes: each names a key family, so any length past a few characters counts.
_PREFIXED_KEYS = (
    r"sk-[A-Za-z0-9_\-*]{8,}",  # OpenAI (sk-proj-…), Anthropic (sk-ant-…), OpenRouter (sk-or-…)
    r"sk_[A-Za-z0-9_\-*]{8,}",
    r"vdm(?:api)?-[A-Za-z0-9_\-]{8,}",  # this gateway's team keys and API tokens
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",  # AWS access key ids
    r"AIza[0-9A-Za-z_\-]{20,}",  # Google API keys
    r"ya29\.[0-9A-Za-z_\-.]{20,}",  # Google OAuth access tokens
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"xox[abpors]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"(?:Bearer|bearer)\s+[A-Za-z0-9._\-~+/=*]{8,}",
)
# 24+ letters and digits in a row with at least one of each: a random token (hex,
# base62), never a word-made identifier. The lookbehind keeps it to whole runs.
_RANDOM_RUN = r"(?<![A-Za-z0-9])(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[A-Za-z0-9]{24,}"
# A prefix counts at the start of a word only: "task-manager-v2" holds no "sk-" key.
KEY_PATTERN = re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(_PREFIXED_KEYS)})|{_RANDOM_RUN}")
# The shortest text any alternative can match (``sk-`` and 8 characters): shorter
# model names skip the regular expression altogether (the hot path's common case).
_SHORTEST_KEY = 11
_MIN_KNOWN_SECRET = 4  # an exact secret shorter than this would redact ordinary words


# The hot path's check avoids the full pattern, whose alternatives are tried at every
# position: a prefix family needs one of these markers, and a random run is first found
# by a plain character-class search.
_PREFIX_MARKER = re.compile(r"sk[-_]|vdm|AKIA|ASIA|AIza|ya29\.|gh[pousr]_|xox|earer")
_LONG_RUN = re.compile(r"[A-Za-z0-9]{24,}")
# Model names already found free of keys: a proxied call's name is usually one of a few,
# so the check costs a set lookup. Bounded: emptied when full (made-up names are cheap
# to check again).
_SAFE_NAMES: set[str] = set()
_SAFE_NAMES_MAX = 4096


def looks_like_key(text: str) -> bool:
    if len(text) < _SHORTEST_KEY:
        return False
    if _PREFIX_MARKER.search(text):
        return KEY_PATTERN.search(text) is not None
    return any(_is_random(run.group()) for run in _LONG_RUN.finditer(text))


def _is_random(run: str) -> bool:
    return not run.isalpha() and not run.isdigit()  # letters and digits both


def _known(secrets: Iterable[str | None]) -> list[str]:
    return [secret for secret in secrets if secret and len(secret) >= _MIN_KNOWN_SECRET]


def redact_keys(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret and every key-shaped substring replaced."""
    for secret in _known(known):
        text = text.replace(secret, REDACTED)
    if len(text) < _SHORTEST_KEY:
        return text
    return KEY_PATTERN.sub(REDACTED, text)


def safe_model_name(name: str, known: Iterable[str | None] = ()) -> str:
    """``name``, or ``[redacted-key]`` when it is or holds a key (one of ``known``, the
    gateway's own key for instance, or anything key-shaped)."""
    for secret in known:
        if secret and len(secret) >= _MIN_KNOWN_SECRET and secret in name:
            return REDACTED_KEY
    if name in _SAFE_NAMES:
        return name
    if looks_like_key(name):
        return REDACTED_KEY
    if len(_SAFE_NAMES) >= _SAFE_NAMES_MAX:
        _SAFE_NAMES.clear()
    _SAFE_NAMES.add(name)
    return name
