"""Masking of secrets in recorded object states and shown headers. Pure: plain data in,
plain data out.

Two rules by name:
- a field (at any depth) whose name says secret (``ciphertext``, ``key_hash``,
  ``sealed_headers``, ``password``…) is masked;
- an HTTP header whose name contains ``key``, ``token``, ``secret``, ``auth``,
  ``passw``, ``signature``, ``cookie``, ``credential`` or ``session`` (``Authorization``,
  ``x-api-key``, ``Ocp-Apim-Subscription-Key``, ``X-Auth``…) is masked wherever a
  provider's ``custom_headers`` are shown. Headers are masked by the broader rule because
  their names are free text; a field rule that broad would hide ``requires_key``.
"""

import re
from collections.abc import Mapping
from typing import Any

MASK = "••••••"
SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|ciphertext|sealed|key_hash|token|authorization|cookie|api[-_]?key|credential)",
    re.IGNORECASE,
)
SECRET_HEADER_PATTERN = re.compile(
    r"(key|token|secret|auth|passw|signature|cookie|credential|session)", re.IGNORECASE
)
HEADERS_FIELD = "custom_headers"
# Names that match the pattern but hold counters or limits, not secrets.
NOT_SECRET_KEYS = frozenset({"tokens_per_minute", "token_budget", "input_tokens", "output_tokens"})


def is_secret_key(name: str) -> bool:
    return name not in NOT_SECRET_KEYS and SECRET_KEY_PATTERN.search(name) is not None


def is_secret_header(name: str) -> bool:
    return SECRET_HEADER_PATTERN.search(name) is not None


def mask_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """``headers`` with the value of every secret-named header replaced by ``MASK``."""
    return {
        name: MASK if is_secret_header(str(name)) and value not in (None, "") else value
        for name, value in headers.items()
    }


def _masked_entry(key: str, item: Any) -> Any:
    if is_secret_key(key) and item not in (None, ""):
        return MASK
    if key == HEADERS_FIELD and isinstance(item, Mapping):
        return mask_headers(item)
    return mask_secrets(item)


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every secret-named entry replaced by ``MASK``, and the
    secret-named headers of any ``custom_headers`` too."""
    if isinstance(value, Mapping):
        return {key: _masked_entry(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value
