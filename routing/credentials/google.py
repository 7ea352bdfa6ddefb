"""Vertex: an OAuth access token for the pool's service-account key (or, with an empty
pool and ``ambient_credentials`` on, Application Default Credentials), fetched off the
event loop, cached, refreshed before it expires, one fetch at a time per key. A token
the upstream rejects (401) is forgotten so the retry fetches a new one, as google-auth's
own ``AuthorizedSession`` does.

Imported only when a Vertex provider is used (``routing.authorizers``): google-auth
costs about 25 MiB of memory that a gateway without Vertex should not pay.
"""

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import google.auth
import urllib3
from django.views.decorators.debug import sensitive_variables
from google.auth import exceptions as google_exceptions
from google.auth.credentials import Credentials as GoogleCredentials
from google.auth.transport.urllib3 import Request as GoogleRequest
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from routing.adapters import vertex
from routing.authorizers import CredentialError, SignableRequest
from routing.errors import scrub_secrets
from routing.table import KeyConfig, ProviderConfig


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

    def forget(self, key: KeyConfig, rejected: str) -> bool:
        """Drop ``key``'s token if it is the one the upstream rejected (401): True when
        dropped. A token another request already replaced is kept."""
        credentials = self._credentials.get(key.fingerprint)
        if credentials is None or credentials.token != rejected:
            return False
        del self._credentials[key.fingerprint]
        return True

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
    if not provider.project:  # the URL would name ``projects//``
        raise CredentialError("no Google Cloud project: set the provider's project", key_fault=False)
    if not key.secret and not provider.ambient_credentials:
        # Never the host's identity unless the operator chose it (an emptied pool).
        raise CredentialError(
            "no key to authenticate with, and Application Default Credentials are off for this provider",
            key_fault=False,
        )
    return {"authorization": f"Bearer {await google_tokens.token(key)}"}


def forget_credentials(key: KeyConfig, sent_headers: Mapping[str, str]) -> bool:
    """After a 401: drop the bearer token that was sent, so the next attempt fetches one."""
    rejected = sent_headers.get("authorization", "").removeprefix("Bearer ")
    return bool(rejected) and google_tokens.forget(key, rejected)


def reset() -> None:
    google_tokens.reset()
