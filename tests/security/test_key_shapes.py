"""What counts as a key (``vandamme.secrets``): vendor prefixes and random-looking runs,
not long names made of words."""

import logging

import pytest

from vandamme.logs import ServerAccessLineFilter
from vandamme.secrets import REDACTED, REDACTED_KEY, looks_like_key, redact_keys, safe_model_name

KEYS = [
    "sk-proj-abcdefgh12345678",
    "sk-ant-api03-Xy7_abcdefghij",
    "sk_live_abcdefgh1234",
    "vdm-AbCdEfGhIjKlMnOpQrStUv",
    "vdmapi-AbCdEfGhIjKlMnOp",
    "AKIAIOSFODNN7EXAMPLE",
    "ASIAIOSFODNN7EXAMPLE",
    "AIzaSyA1234567890abcdefghijklmnopq",
    "ya29.a0AfH6SMBabcdefghijklmnop",
    "ghp_abcdefghijklmnopqrstuvwxyz",
    "Bearer abcdefghijk",
    "0123456789abcdef0123456789abcdef",  # an Azure-style hex key
    "openai:sk-proj-abcdefgh12345678",  # behind a provider prefix
]
NAMES = [
    "gpt-4o",
    "claude-3-5-sonnet-20241022",
    "task-management-assistant",  # "sk-" inside a word is no prefix
    "gemini-2.0-flash-thinking-exp-01-21",
    "openrouter:meta-llama/llama-3.3-70b-instruct:free",
    "ft:gpt-4o-mini-2024-07-18:my-org:custom:9abcDEFg",
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    "projects/123456789012/locations/us-central1/publishers/google/models/gemini-1.5-pro",
    "GenerateContentInputTokensPerModelPerMinute-PerProject-PerModel",  # Google's quota name
    "123e4567-e89b-12d3-a456-426614174000",
    "123456789012345678901234567890",  # digits only: an account or project number
]


@pytest.mark.parametrize("text", KEYS)
def test_keys_are_recognised_and_redacted(text: str) -> None:
    assert looks_like_key(text)
    assert safe_model_name(text) == REDACTED_KEY
    assert REDACTED in redact_keys(f"model '{text}' not found")


@pytest.mark.parametrize("text", NAMES)
def test_names_are_kept(text: str) -> None:
    assert not looks_like_key(text)
    assert safe_model_name(text) == text
    assert safe_model_name(text) == text  # the second time from the memo of safe names
    assert redact_keys(text) == text


def test_known_secrets_are_found_by_value() -> None:
    assert safe_model_name("my-gateway-secret", ("my-gateway-secret", None)) == REDACTED_KEY
    assert redact_keys("bad model my-gateway-secret", ("my-gateway-secret",)) == f"bad model {REDACTED}"
    assert safe_model_name("gpt-4o", ("", None, "abc")) == "gpt-4o"  # empty and tiny ones ignored


def test_server_access_lines_lose_the_key_in_their_query(settings: object) -> None:
    settings.PROXY_API_KEY = "correct-horse-battery"  # type: ignore[attr-defined]
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/v1/vandamme/resolve?model=sk-proj-abcdefgh12345678&x=correct-horse-battery",
         "1.1", 200),
        None,
    )  # fmt: skip
    assert ServerAccessLineFilter().filter(record)
    assert record.getMessage() == (
        f'127.0.0.1:1 - "GET /v1/vandamme/resolve?model={REDACTED}&x={REDACTED} HTTP/1.1" 200'
    )
