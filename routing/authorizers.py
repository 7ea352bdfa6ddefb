"""How one upstream request is authenticated, per provider format.

An authorizer gets the provider, the key chosen for this attempt and the final request
(method, URL, headers, body) and returns the headers that authenticate it:
- most formats: the static header carrying the key (none for a keyless provider);
- Bedrock: a SigV4 signature (``routing.credentials.aws``);
- Vertex: an OAuth bearer token (``routing.credentials.google``).
The cloud modules are imported the first time a provider of theirs is used, so a
gateway without Bedrock or Vertex never loads botocore or google-auth.

A key that cannot authenticate raises ``CredentialError``; ``routing.failover``
decides what happens next (the next key, a retry, or a clear error).
"""

import importlib
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from providers.families import ApiFormat
from routing.adapters.http import auth_headers
from routing.table import KeyConfig, ProviderConfig

# The module and function that authorize each cloud format, loaded on first use.
CLOUD_AUTHORIZERS = {
    ApiFormat.BEDROCK: ("routing.credentials.aws", "sigv4_headers"),
    ApiFormat.VERTEX: ("routing.credentials.google", "google_bearer_headers"),
}


class CredentialError(Exception):
    """Credentials that cannot authenticate this request.

    ``key_fault``: the pool entry itself is bad (malformed, refused): try the next key.
    ``retryable``: a passing failure (the token endpoint unreachable): retry later."""

    def __init__(self, message: str, *, key_fault: bool = True, retryable: bool = False) -> None:
        super().__init__(message)
        self.key_fault = key_fault
        self.retryable = retryable


@dataclass(frozen=True)
class SignableRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


Authorizer = Callable[[ProviderConfig, KeyConfig, SignableRequest], Awaitable[dict[str, str]]]


async def static_headers(
    provider: ProviderConfig, key: KeyConfig, request: SignableRequest
) -> dict[str, str]:
    return auth_headers(provider, key.secret)


def authorizer_for(provider: ProviderConfig) -> Authorizer:
    cloud = CLOUD_AUTHORIZERS.get(provider.api_format)
    if cloud is None:
        return static_headers
    module_name, function = cloud
    authorizer: Authorizer = getattr(importlib.import_module(module_name), function)
    return authorizer


def forget_credentials(provider: ProviderConfig, key: KeyConfig, sent_headers: Mapping[str, str]) -> bool:
    """The upstream answered 401 to ``sent_headers``: drop a cached token they carried so
    the next attempt gets a fresh one (Vertex). True when there was one to drop, i.e. a
    retry with the same key is worth it; static keys and SigV4 signatures have none."""
    cloud = CLOUD_AUTHORIZERS.get(provider.api_format)
    module = sys.modules.get(cloud[0]) if cloud else None
    forget = getattr(module, "forget_credentials", None)
    return bool(forget is not None and forget(key, sent_headers))


def reset_credential_caches() -> None:
    """Forget resolved credentials and tokens (tests; a process keeps them otherwise)."""
    for module_name, _function in CLOUD_AUTHORIZERS.values():
        module = sys.modules.get(module_name)
        if module is not None:
            module.reset()
