"""Team tests reuse the provider and SDK fixtures of the endpoint tests."""

from tests.gateway.conftest import client, gateway_http, openai_sdk, providers  # noqa: F401  (re-exported fixtures)
