"""Team tests reuse the provider fixtures of the endpoint tests."""

from tests.gateway.conftest import providers  # noqa: F401  (re-exported fixture)
