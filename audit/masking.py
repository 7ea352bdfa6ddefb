"""Masking of secrets in recorded object states. Pure: plain data in, plain data out.

A value is masked when its key names a secret (``ciphertext``, ``key_hash``, a header
such as ``Authorization`` or ``x-api-key`` inside ``custom_headers``…), at any depth.
"""

import re
from collections.abc import Mapping
from typing import Any

MASK = "••••••"
SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|ciphertext|key_hash|token|authorization|cookie|api[-_]?key|credential)",
    re.IGNORECASE,
)
# Names that match the pattern but hold counters or limits, not secrets.
NOT_SECRET_KEYS = frozenset({"tokens_per_minute", "token_budget", "input_tokens", "output_tokens"})


def is_secret_key(name: str) -> bool:
    return name not in NOT_SECRET_KEYS and SECRET_KEY_PATTERN.search(name) is not None


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret-named entry replaced by ``MASK``."""
    if isinstance(value, Mapping):
        return {
            key: (MASK if is_secret_key(str(key)) and item not in (None, "") else mask_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value


def unmask_headers(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """``sent`` with every ``MASK`` value replaced by the stored one: a form or API client
    that only ever saw the masked value sends it back to mean "keep it". Raises
    ``ValueError`` naming the headers that have no stored value to keep."""
    unknown = [name for name, value in sent.items() if value == MASK and name not in stored]
    if unknown:
        raise ValueError(f"no stored value to keep for {', '.join(unknown)}")
    return {name: stored[name] if value == MASK else value for name, value in sent.items()}
