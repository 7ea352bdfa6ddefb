"""Open an upstream response, rotating keys and retrying before the first byte.

Only this module decides whether a failed attempt is tried again:
- 401/403 (static keys): the key is marked failing and the next key is tried; a key is
  disabled for good after ``KEY_DISABLE_AFTER`` classified failures in a row;
- 429: the key cools down for ``retry-after`` (or the default) and the next key is tried;
- connection errors, timeouts and 5xx: retried up to the provider's ``max_retries``
  with exponential backoff and jitter.
Each attempt is authenticated by the provider format's authorizer
(``routing.authorizers``) over the final URL, headers and body, so a SigV4 signature
or an OAuth token is made for exactly the request sent; credentials it rejects count
as a failed key. A provider that needs no key (or takes credentials from its
environment) gets one pseudo-key with an empty secret.
Nothing here runs once bytes have reached the client.
"""

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from providers.services import api_key_record_failure, api_key_record_success
from routing.authorizers import Authorizer, CredentialError, SignableRequest, authorizer_for
from routing.errors import GatewayError, upstream_error
from routing.keypool import key_pools
from routing.table import KeyConfig, ProviderConfig
from routing.upstream import upstream_client

logger = logging.getLogger(__name__)

KEY_DISABLE_AFTER = 5
RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504, 529})
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
NO_KEY = KeyConfig(0, "none", "")  # keyless providers: no secret of ours, nothing to mark
_background_tasks: set["asyncio.Task[None]"] = set()


@dataclass
class UpstreamRequest:
    provider: ProviderConfig
    method: str
    url: str
    body: bytes
    headers: dict[str, str]
    client_key: str | None = field(default=None, repr=False)


@dataclass
class OpenedUpstream:
    response: httpx.Response
    key_fingerprint: str | None


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _backoff_delay(attempt: int) -> float:
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)


def _in_background(coro_fn: object, **kwargs: object) -> None:
    task = asyncio.create_task(sync_to_async(coro_fn)(**kwargs))  # type: ignore[call-overload]
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


def _keys_for(request: UpstreamRequest) -> list[KeyConfig]:
    provider = request.provider
    if provider.passthrough:
        if not request.client_key:
            raise GatewayError(
                401, f"provider '{provider.name}' forwards the client's own API key, and none was sent"
            )
        return [KeyConfig(0, "client", request.client_key)]
    keys = key_pools.candidates(provider)
    if not keys and not provider.requires_key:
        return [NO_KEY]
    if not keys:
        raise GatewayError(503, f"provider '{provider.name}' has no enabled API key", error_type="api_error")
    return keys


def _mark_key_failed(provider: ProviderConfig, key: KeyConfig, status: int, cooldown: float) -> None:
    if key.key_id == 0:  # the client's own key: nothing of ours to mark
        return
    streak = key_pools.report_failure(provider.name, key, cooldown_seconds=cooldown)
    disable = status in (401, 403) and streak >= KEY_DISABLE_AFTER
    logger.warning(
        "upstream key %s of provider %s failed with %s (streak %d%s)",
        key.fingerprint,
        provider.name,
        status,
        streak,
        ", disabled" if disable else "",
    )
    _in_background(
        api_key_record_failure,
        key_id=key.key_id,
        status=status,
        reason=f"upstream answered {status}",
        cooldown_until=timezone.now() + timedelta(seconds=cooldown),
        disable=disable,
    )


def _mark_key_ok(provider: ProviderConfig, key: KeyConfig) -> None:
    if key.key_id and key_pools.is_cooling(provider.name, key):
        key_pools.report_success(provider.name, key)
        _in_background(api_key_record_success, key_id=key.key_id)


Attempt = OpenedUpstream | tuple[GatewayError, str]


async def open_upstream(request: UpstreamRequest) -> OpenedUpstream:
    """Send ``request`` (streamed) and return the first successful response."""
    provider = request.provider
    keys = _keys_for(request)
    authorize = authorizer_for(provider)
    key_index, retries_left, attempt = 0, provider.max_retries, 0
    while True:
        outcome = await _attempt(request, keys[key_index % len(keys)], authorize, keys)
        if isinstance(outcome, OpenedUpstream):
            return outcome
        error, decision = outcome
        if decision == "next_key" and key_index + 1 < len(keys):
            key_index += 1
            continue
        if decision == "next_key" and error.status in (401, 403):
            raise _all_keys_failed(provider, len(keys), error)
        if decision == "fail" or retries_left <= 0:
            raise error
        retries_left -= 1
        await asyncio.sleep(_backoff_delay(attempt))
        attempt += 1


async def _attempt(
    request: UpstreamRequest, key: KeyConfig, authorize: Authorizer, keys: list[KeyConfig]
) -> Attempt:
    """One try with one key: the opened response, or the error and what to do next."""
    provider = request.provider
    headers = dict(request.headers)
    try:
        signable = SignableRequest(request.method, request.url, headers, request.body)
        headers.update(await authorize(provider, key, signable))
    except CredentialError as exc:
        return _credential_failure(provider, key, exc)
    client = upstream_client(provider)
    outgoing = client.build_request(request.method, request.url, content=request.body, headers=headers)
    try:
        response = await client.send(outgoing, stream=True)
    except httpx.TimeoutException as exc:
        message = f"upstream provider '{provider.name}' timed out ({type(exc).__name__})"
        return GatewayError(504, message), "retry"
    except httpx.TransportError as exc:
        message = f"upstream provider '{provider.name}' unreachable ({type(exc).__name__})"
        return GatewayError(502, message), "retry"
    if response.status_code < 400:
        _mark_key_ok(provider, key)
        return OpenedUpstream(response, key.fingerprint if key.key_id else None)
    raw = await response.aread()
    await response.aclose()
    error = upstream_error(
        status=response.status_code,
        raw_body=raw,
        provider=provider.name,
        retry_after=response.headers.get("retry-after"),
        secrets=_secret_parts(keys),
    )
    return error, _classify(provider, key, response)


def _secret_parts(keys: list[KeyConfig]) -> list[str]:
    """Every secret, and each part of a composite one (Bedrock's ``ID:SECRET:TOKEN``)."""
    parts = [key.secret for key in keys if key.secret]
    for secret in parts[:]:
        if not secret.startswith("{"):  # a JSON key has no parts an upstream could echo
            parts.extend(part for part in secret.split(":") if len(part) >= 8 and part != secret)
    return parts


def _credential_failure(provider: ProviderConfig, key: KeyConfig, exc: CredentialError) -> Attempt:
    message = f"provider '{provider.name}': {exc}"
    if exc.key_fault:
        _mark_key_failed(provider, key, 401, settings.VANDAMME_KEY_COOLDOWN_SECONDS)
        return GatewayError(401, message), "next_key" if key.key_id else "fail"
    if exc.retryable:
        return GatewayError(502, message), "retry"
    return GatewayError(503, message, error_type="api_error"), "fail"


def _classify(provider: ProviderConfig, key: KeyConfig, response: httpx.Response) -> str:
    """``next_key``, ``retry`` (same or next key after a backoff) or ``fail``."""
    status = response.status_code
    if status in (401, 403):
        if provider.passthrough or not key.key_id:  # the client's key, or no key of ours
            return "fail"
        _mark_key_failed(provider, key, status, settings.VANDAMME_KEY_COOLDOWN_SECONDS)
        return "next_key"
    if status == 429:
        cooldown = _retry_after_seconds(response) or settings.VANDAMME_KEY_COOLDOWN_SECONDS
        _mark_key_failed(provider, key, status, cooldown)
        return "next_key" if len(provider.keys) > 1 else "fail"
    if status in RETRYABLE_STATUSES:
        return "retry"
    return "fail"


def _all_keys_failed(provider: ProviderConfig, count: int, last: GatewayError) -> GatewayError:
    return GatewayError(
        last.status,
        f"all {count} API keys of provider '{provider.name}' were rejected upstream; "
        f"last answer: {last.message}",
        last.headers,
    )
