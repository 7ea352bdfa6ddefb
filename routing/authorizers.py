"""How one upstream request is authenticated, per provider format.

An authorizer gets the provider, the key chosen for this attempt and the final request
(method, URL, headers, body) and returns the headers that authenticate it:
- most formats: the static header carrying the key (none for a keyless provider);
- Bedrock: a SigV4 signature over exactly what is sent (botocore's signer), from the
  pool's access keys or, with an empty pool, the AWS environment/profile chain; a
  Bedrock API key (a pool entry without ':') goes as ``Authorization: Bearer``;
- Vertex: an OAuth access token for the pool's service-account key (or Application
  Default Credentials), fetched off the event loop, cached, refreshed before it
  expires, one fetch at a time per key.

A key that cannot authenticate raises ``CredentialError``; ``routing.failover``
decides what happens next (the next key, a retry, or a clear error).
"""

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import google.auth
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.session import Session as BotocoreSession
from django.views.decorators.debug import sensitive_variables
from google.auth import exceptions as google_exceptions
from google.auth.credentials import Credentials as GoogleCredentials
from google.auth.transport.urllib3 import Request as GoogleRequest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from providers.endpoints import BEDROCK, VERTEX
from routing.adapters import bedrock, vertex
from routing.adapters.http import auth_headers
from routing.errors import scrub_secrets
from routing.table import KeyConfig, ProviderConfig

SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


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


# --- Bedrock ---------------------------------------------------------------------------


class AmbientAwsCredentials:
    """The AWS default chain (environment, shared files, SSO, container, instance role),
    resolved once per process off the event loop; refreshable credentials are refreshed
    off the loop too when botocore says they are due."""

    def __init__(self) -> None:
        self._credentials: Credentials | None = None
        self._lock = threading.Lock()

    def reset(self) -> None:
        self._credentials = None

    def _resolve(self) -> Credentials | None:
        with self._lock:
            if self._credentials is None:
                self._credentials = BotocoreSession().get_credentials()
            return self._credentials

    async def frozen(self) -> ReadOnlyCredentials:
        credentials = self._credentials or await asyncio.to_thread(self._resolve)
        if credentials is None:
            raise CredentialError(
                "no AWS credentials: the key pool is empty and the AWS environment/profile chain found none",
                key_fault=False,
            )
        if isinstance(credentials, RefreshableCredentials) and credentials.refresh_needed():
            return await asyncio.to_thread(credentials.get_frozen_credentials)
        return credentials.get_frozen_credentials()


ambient_aws = AmbientAwsCredentials()


@sensitive_variables("credential")
async def _aws_credentials(key: KeyConfig) -> ReadOnlyCredentials | str:
    """Access keys to sign with, or a Bedrock API key (str) to send as a bearer token."""
    if not key.secret:
        return await ambient_aws.frozen()
    try:
        credential = bedrock.parse_credential(key.secret)
    except ValueError as exc:
        raise CredentialError(f"unusable Bedrock credential {key.fingerprint}: {exc}") from None
    if credential.api_key is not None:
        return credential.api_key
    return ReadOnlyCredentials(
        credential.access_key_id, credential.secret_access_key, credential.session_token
    )


def sigv4_sign(
    request: SignableRequest, credentials: ReadOnlyCredentials, *, region: str, service: str
) -> dict[str, str]:
    """The SigV4 headers botocore's signer computes for exactly this request."""
    aws_request = AWSRequest(
        method=request.method, url=request.url, headers=dict(request.headers), data=request.body
    )
    SigV4Auth(Credentials(*credentials), service, region).add_auth(aws_request)
    return {name: aws_request.headers[name] for name in SIGNATURE_HEADERS if name in aws_request.headers}


async def sigv4_headers(provider: ProviderConfig, key: KeyConfig, request: SignableRequest) -> dict[str, str]:
    credentials = await _aws_credentials(key)
    if isinstance(credentials, str):
        return {"authorization": f"Bearer {credentials}"}
    return sigv4_sign(request, credentials, region=provider.region, service=bedrock.SIGNING_SERVICE)


# --- Vertex ----------------------------------------------------------------------------


class GoogleTokens:
    """OAuth access tokens per key: fetched once, reused while valid, refreshed before
    expiry (google-auth treats a token as stale 3m45s early). The blocking fetch runs in
    a thread; concurrent requests for one key wait for a single fetch."""

    def __init__(self) -> None:
        self._credentials: dict[str, GoogleCredentials] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._http = urllib3.PoolManager()

    def reset(self) -> None:
        self._credentials.clear()
        self._locks.clear()

    def _lock(self, fingerprint: str) -> asyncio.Lock:
        slot = (id(asyncio.get_running_loop()), fingerprint)
        lock = self._locks.get(slot)
        if lock is None:
            lock = self._locks[slot] = asyncio.Lock()
        return lock

    async def token(self, key: KeyConfig) -> str:
        credentials = self._credentials.get(key.fingerprint)
        if credentials is not None and credentials.valid:
            return str(credentials.token)
        async with self._lock(key.fingerprint):
            credentials = self._credentials.get(key.fingerprint)
            if credentials is None:
                # ADC may probe the environment (files, metadata server): off the loop too.
                credentials = await asyncio.to_thread(_load_google_credentials, key)
                self._credentials[key.fingerprint] = credentials
            if not credentials.valid:  # nobody refreshed it while this request waited
                await asyncio.to_thread(self._refresh, credentials, key)
            return str(credentials.token)

    def _refresh(self, credentials: GoogleCredentials, key: KeyConfig) -> None:
        try:
            credentials.refresh(GoogleRequest(self._http))
        except google_exceptions.RefreshError as exc:
            raise CredentialError(_google_failure("refused", exc, key)) from None
        except google_exceptions.TransportError as exc:
            message = _google_failure("unreachable", exc, key)
            raise CredentialError(message, key_fault=False, retryable=True) from None


def _google_failure(what: str, exc: Exception, key: KeyConfig) -> str:
    detail = scrub_secrets(str(exc), (key.secret,))[:300]
    return f"Google token endpoint {what} for key {key.fingerprint}: {detail}"


@sensitive_variables("info")
def _load_google_credentials(key: KeyConfig) -> GoogleCredentials:
    """A pool entry (service-account or other google-auth JSON), or ADC without one."""
    if not key.secret:
        try:
            credentials, _project = google.auth.default(scopes=[vertex.OAUTH_SCOPE])
        except google_exceptions.DefaultCredentialsError:
            raise CredentialError(
                "no Google credentials: the key pool is empty and Application Default Credentials found none",
                key_fault=False,
            ) from None
        return credentials
    try:
        info: Any = json.loads(key.secret)
        kind = info.get("type") if isinstance(info, dict) else None
        loader = _GOOGLE_KEY_LOADERS.get(str(kind))
        if loader is None:
            raise CredentialError(
                f"key {key.fingerprint} has type {str(kind)[:40]!r}; expected a service_account "
                "(or authorized_user) JSON key"
            )
        return loader(info, scopes=[vertex.OAUTH_SCOPE])
    except (ValueError, TypeError) as exc:
        message = f"key {key.fingerprint} is not a usable service-account JSON ({type(exc).__name__})"
        raise CredentialError(message) from None


# Only key types that hold their own secret: other google-auth configurations (external
# accounts) can name commands or URLs to fetch credentials from.
_GOOGLE_KEY_LOADERS: dict[str, Callable[..., GoogleCredentials]] = {
    "service_account": service_account.Credentials.from_service_account_info,
    "authorized_user": user_credentials.Credentials.from_authorized_user_info,
}


google_tokens = GoogleTokens()


async def google_bearer_headers(
    provider: ProviderConfig, key: KeyConfig, request: SignableRequest
) -> dict[str, str]:
    return {"authorization": f"Bearer {await google_tokens.token(key)}"}


def authorizer_for(provider: ProviderConfig) -> Authorizer:
    if provider.api_format == BEDROCK:
        return sigv4_headers
    if provider.api_format == VERTEX:
        return google_bearer_headers
    return static_headers


def reset_credential_caches() -> None:
    """Forget resolved credentials and tokens (tests; a process keeps them otherwise)."""
    ambient_aws.reset()
    google_tokens.reset()
