"""Open an upstream response, rotating keys and retrying before the first byte.

Only this module decides whether a failed attempt is tried again:
- 401, and 403 that says the key is invalid/expired/revoked (``routing.key_rejection``):
  the key is marked failing and the next key is tried; a key is disabled after
  ``KEY_DISABLE_AFTER`` such answers in a row (a success in between ends the streak; a
  429 neither counts nor ends it). Any other 403 (no access to this model, permission
  denied on a resource, a content policy) is about the request: it goes back to the
  client and the key is not marked. A Vertex 401 first drops the cached OAuth token and
  retries the same key once with a fresh one, as google-auth's own session does;
- 429: the key cools down for ``retry-after`` (seconds or an HTTP date; else the
  default) and the next key that is not cooling is tried; with none left (one key, or
  all cooling) the call is retried within ``max_retries`` once the upstream's wait is
  over, when that wait is short (``RATE_LIMIT_WAIT_CAP_SECONDS``), else the 429 goes
  back at once with its ``retry-after``;
- connection errors, timeouts and 5xx: retried up to the provider's ``max_retries``
  with exponential backoff and jitter.
Every retry of the same key (5xx, timeouts, a short 429 wait) also takes a token from
the provider's retry budget (``routing.retry_budget``): with the budget spent, or when the
client says the request is its own retry (``x-stainless-retry-count`` above 0), the first
failure is final. A transient failure the gateway decided on (5xx, timeout, unreachable)
goes back with ``x-should-retry: false``, which the Anthropic and OpenAI SDKs and Claude
Code obey: the client's retries would multiply the gateway's (Claude Code tries 11
times). A client that is retrying by its own count keeps its own loop (no header).
A whole (non-streamed) answer is read here, so a connection that breaks or stalls
after the headers is a failed attempt too (502/504); a stream's first frame is read
ahead, so an error in it (Bedrock's ``throttlingException``, an ``error`` event) counts
as the status it stands for. No attempt, nor a wait between them, runs past the call's
total deadline (``routing.upstream.total_deadline``).
Each attempt is authenticated by the provider format's authorizer
(``routing.authorizers``) over the final URL, headers and body, so a SigV4 signature
or an OAuth token is made for exactly the request sent; credentials it rejects count
as a failed key. A provider that needs no key (or takes credentials from its
environment) gets one pseudo-key with an empty secret.
Nothing here runs once bytes have reached the client.
"""

import asyncio
import logging
import math
import random
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from providers.services import api_key_record_failure, api_key_record_success
from routing.adapters.first_frame import first_frame_complete, first_frame_error
from routing.authorizers import (
    Authorizer,
    CredentialError,
    SignableRequest,
    authorizer_for,
    forget_credentials,
)
from routing.errors import GatewayError, map_upstream_status, scrub_secrets, upstream_error
from routing.key_rejection import is_key_rejection
from routing.keypool import DISABLE_AFTER, key_pools
from routing.retry_budget import retry_budgets
from routing.table import KeyConfig, ProviderConfig
from routing.tracing import traced_attempt
from routing.upstream import DeadlineExceeded, GuardedStream, total_deadline, upstream_client

logger = logging.getLogger(__name__)

KEY_DISABLE_AFTER = DISABLE_AFTER
RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504, 529})
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
# The longest 429 ``retry-after`` waited out inside a request; longer ones go back to
# the client at once (it may have better things to do than hold a connection open).
RATE_LIMIT_WAIT_CAP_SECONDS = BACKOFF_MAX_SECONDS
# The longest ``retry-after`` believed (a key cools down at most this long): 10^12 s
# would overflow every date it is added to.
MAX_RETRY_AFTER_SECONDS = 86400.0
# The Anthropic and OpenAI SDKs and Claude Code do not retry an answer that says so.
DO_NOT_RETRY = {"x-should-retry": "false"}
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
    stream: bool = False  # a stream's first frame is read ahead; a whole answer is read
    client_retrying: bool = False  # the client's own retry (``x-stainless-retry-count`` > 0)


@dataclass
class OpenedUpstream:
    response: httpx.Response
    key_fingerprint: str | None


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a ``retry-after`` header asks for: delay-seconds or an HTTP date
    (RFC 9110 §10.2.3); None when absent or unreadable. ``0`` is no wait; at most
    ``MAX_RETRY_AFTER_SECONDS``."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC by the RFC
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS) if math.isfinite(seconds) else None


def _backoff_delay(attempt: int) -> float:
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not cryptography)


def _in_background(coro_fn: object, **kwargs: object) -> None:
    task = asyncio.create_task(sync_to_async(coro_fn)(**kwargs))  # type: ignore[call-overload]
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)


async def key_state_writes_done() -> None:
    """Wait until the key-state writes scheduled so far are in the database. ``gather``
    yields to the loop, so the done callbacks that empty the set get to run (awaiting
    finished tasks one by one never yields, and a loop on the set would spin)."""
    while _background_tasks:
        await asyncio.gather(*_background_tasks)


def _keys_for(request: UpstreamRequest) -> list[KeyConfig]:
    provider = request.provider
    if provider.passthrough:
        if not request.client_key:
            raise GatewayError(
                401, f"provider '{provider.name}' forwards the client's own API key, and none was sent"
            )
        return [KeyConfig(0, "client", request.client_key)]
    keys = key_pools.candidates(provider)
    if not keys and not provider.requires_key and not provider.disabled_keys:
        return [NO_KEY]  # keyless, or the host's cloud identity (ambient_credentials)
    if not keys:
        raise GatewayError(503, _no_key_message(provider), error_type="api_error")
    return keys


def _no_key_message(provider: ProviderConfig) -> str:
    """Why a provider that needs a key has none: never a silent fallback to the host's
    own cloud identity, which only ``ambient_credentials`` switches on."""
    if provider.disabled_keys:
        return (
            f"all {provider.disabled_keys} API keys of provider '{provider.name}' are disabled; "
            're-enable one in the admin or with PATCH /api/api-keys/<id>/ {"enabled": true}'
        )
    return f"provider '{provider.name}' has no enabled API key"


def _mark_key_failed(
    provider: ProviderConfig, key: KeyConfig, status: int, cooldown: float, *, in_streak: bool = True
) -> None:
    """Cool ``key`` down; a 401/403 (``in_streak``) also lengthens its streak of
    failures in a row, and the one that reaches ``KEY_DISABLE_AFTER`` disables it."""
    if key.key_id == 0:  # the client's own key, or no key: nothing of ours to mark
        return
    streak = key_pools.report_failure(provider.name, key, cooldown_seconds=cooldown, in_streak=in_streak)
    disable = in_streak and streak >= KEY_DISABLE_AFTER
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
        in_streak=in_streak,
    )


def _mark_key_ok(provider: ProviderConfig, key: KeyConfig) -> None:
    """A success ends the key's streak and cooldown: in memory at once, in the database
    only when there was one (no write per request in the steady state)."""
    if key.key_id and key_pools.report_success(provider.name, key):
        _in_background(api_key_record_success, key_id=key.key_id)


@dataclass(frozen=True)
class _Failure:
    """A failed attempt and what to do next: ``next_key``, ``retry`` (after a backoff),
    ``rate_limited`` (another key, or the same once ``wait`` is over), ``refresh`` (the
    same key at once, with the fresh token its rejected one was dropped for) or ``fail``."""

    error: GatewayError
    decision: str
    wait: float | None = None  # rate_limited: the upstream's retry-after, if it said


Attempt = OpenedUpstream | _Failure


async def open_upstream(request: UpstreamRequest) -> OpenedUpstream:
    """Send ``request`` (streamed) and return the first successful response."""
    provider = request.provider
    keys = _keys_for(request)
    authorize = authorizer_for(provider)
    key_index, retries_left, attempt = 0, provider.max_retries, 0
    refreshed: set[int] = set()  # keys whose rejected token was replaced (once each)
    deadline = total_deadline(provider, stream=request.stream)
    budget = retry_budgets.for_provider(provider.name)
    budget.deposit()
    while True:
        may_refresh, key = key_index not in refreshed, keys[key_index]
        with traced_attempt(provider, key) as note:
            outcome = await _attempt(request, key, authorize, keys, deadline, may_refresh=may_refresh)
            note(outcome)
        if isinstance(outcome, OpenedUpstream):
            return outcome
        if outcome.decision == "refresh":
            refreshed.add(key_index)
            continue
        next_index = _next_key_index(provider, keys, key_index, outcome)
        if next_index is not None:
            key_index = next_index
            continue
        delay = _retry_delay(outcome, attempt)
        if delay is None or retries_left <= 0 or _past(deadline, delay):
            raise _final_error(request, keys, outcome, attempt + 1)
        if request.client_retrying or not budget.withdraw(time.monotonic()):
            raise _final_error(request, keys, outcome, attempt + 1)
        retries_left -= 1
        attempt += 1
        await asyncio.sleep(delay)


def _past(deadline: float, delay: float) -> bool:
    """Whether waiting ``delay`` seconds would end past the call's deadline."""
    return asyncio.get_running_loop().time() + delay >= deadline


def _next_key_index(
    provider: ProviderConfig, keys: list[KeyConfig], key_index: int, failure: _Failure
) -> int | None:
    """The key to try next at once, if the failure calls for another key and one is left."""
    if failure.decision == "next_key":
        return key_index + 1 if key_index + 1 < len(keys) else None
    if failure.decision == "rate_limited":  # a key that is cooling would most likely 429 too
        for index in range(key_index + 1, len(keys)):
            if not key_pools.is_cooling(provider.name, keys[index]):
                return index
    return None


def _retry_delay(failure: _Failure, attempt: int) -> float | None:
    """Seconds to wait before trying the same key again; None: do not."""
    if failure.decision == "retry":
        return _backoff_delay(attempt)
    if failure.decision == "rate_limited":
        if failure.wait is None:
            return _backoff_delay(attempt)
        return failure.wait if failure.wait <= RATE_LIMIT_WAIT_CAP_SECONDS else None
    return None


def _final_error(
    request: UpstreamRequest, keys: list[KeyConfig], failure: _Failure, tries: int
) -> GatewayError:
    """The error the client gets; ``tries``: the attempts made with the last key."""
    error = failure.error
    if failure.decision == "next_key" and error.status in (401, 403):
        return _all_keys_failed(request.provider, len(keys), error)
    if failure.decision != "retry" or request.client_retrying:
        return error
    # A transient failure the gateway has had its say on: the client is told not to retry.
    message = f"{error.message} (after {tries} tries)" if tries > 1 else error.message
    return replace(error, message=message, headers={**error.headers, **DO_NOT_RETRY})


async def _attempt(
    request: UpstreamRequest,
    key: KeyConfig,
    authorize: Authorizer,
    keys: list[KeyConfig],
    deadline: float,
    *,
    may_refresh: bool = False,
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
    try:
        response = await client.send(request.method, request.url, headers, request.body, deadline=deadline)
    except httpx.HTTPError as exc:
        malformed = isinstance(exc, httpx.ProtocolError)
        return _transport_failure(
            provider, keys, exc, "sent a malformed answer" if malformed else "unreachable"
        )
    if response.status_code < 400:
        return await _opened(request, key, response, keys)
    try:
        raw = await response.aread()
    except httpx.HTTPError:
        raw = b""  # the status says enough
    finally:
        await response.aclose()
    error = upstream_error(
        status=response.status_code,
        raw_body=raw,
        provider=provider.name,
        retry_after=response.headers.get("retry-after"),
        secrets=_secret_parts(keys),
    )
    if response.status_code == 401 and may_refresh and forget_credentials(provider, key, headers):
        return _Failure(error, "refresh")
    return _classify(provider, key, response, error, raw)


def _transport_failure(
    provider: ProviderConfig, keys: list[KeyConfig], exc: httpx.HTTPError, what: str
) -> _Failure:
    """A connection that failed, stalled or broke the protocol: 504 for a timeout (not
    retried past the deadline), 502 otherwise (``what`` happened: unreachable, broken)."""
    name = provider.name
    if isinstance(exc, DeadlineExceeded):
        limit = f"{provider.total_timeout:g} s" if provider.total_timeout else "the default"
        message = f"upstream provider '{name}' ran past its total deadline ({limit})"
        return _Failure(GatewayError(504, message), "fail")
    if isinstance(exc, httpx.TimeoutException):
        message = f"upstream provider '{name}' timed out ({type(exc).__name__})"
        return _Failure(GatewayError(504, message), "retry")
    detail = scrub_secrets(_transport_detail(exc), _secret_parts(keys))
    return _Failure(GatewayError(502, f"upstream provider '{name}' {what} ({detail})"), "retry")


async def _opened(
    request: UpstreamRequest, key: KeyConfig, response: httpx.Response, keys: list[KeyConfig]
) -> Attempt:
    """A response with a success status: its whole body read (not streamed), or its first
    frame looked at (streamed); a failure in either is a failed attempt."""
    provider = request.provider
    try:
        if not request.stream:
            await response.aread()  # kept by the response: later reads get these bytes
            frame_error = None
        else:
            frame_error = await _first_frame_error(provider, response)
    except httpx.HTTPError as exc:
        await response.aclose()
        return _transport_failure(provider, keys, exc, "broke off its answer")
    if frame_error is not None:
        await response.aclose()
        return _frame_error_failure(provider, key, keys, *frame_error)
    _mark_key_ok(provider, key)
    return OpenedUpstream(response, key.fingerprint if key.key_id else None)


async def _first_frame_error(provider: ProviderConfig, response: httpx.Response) -> tuple[int, str] | None:
    """Read the stream's first frame ahead (replayed to the relay later): the status and
    message of the error it carries, if it does."""
    stream = response.stream
    if not isinstance(stream, GuardedStream):
        return None
    data = b""
    while not first_frame_complete(provider.api_format, data):
        chunk = await stream.read_ahead()
        if chunk is None:
            break
        data += chunk
    error = first_frame_error(provider.api_format, data)
    return (error.status, error.message) if error is not None else None


def _frame_error_failure(
    provider: ProviderConfig, key: KeyConfig, keys: list[KeyConfig], status: int, message: str
) -> _Failure:
    """An error in a 200 stream's first frame, handled as the status it stands for: a
    throttle cools the key and moves on like a 429; 5xx are retried; the rest fail."""
    detail = scrub_secrets(message, _secret_parts(keys))
    error = GatewayError(
        map_upstream_status(status),
        f"upstream provider '{provider.name}' answered with an error event ({status}): {detail}",
    )
    if status == 429:
        _mark_key_failed(provider, key, status, settings.VANDAMME_KEY_COOLDOWN_SECONDS, in_streak=False)
        return _Failure(error, "rate_limited")
    return _Failure(error, "retry" if status in RETRYABLE_STATUSES else "fail")


def _secret_parts(keys: list[KeyConfig]) -> list[str]:
    """Every secret, and each part of a composite one (Bedrock's ``ID:SECRET:TOKEN``)."""
    parts = [key.secret for key in keys if key.secret]
    for secret in parts[:]:
        if not secret.startswith("{"):  # a JSON key has no parts an upstream could echo
            parts.extend(part for part in secret.split(":") if len(part) >= 8 and part != secret)
    return parts


def _transport_detail(exc: httpx.HTTPError) -> str:
    """``ConnectError: Cannot connect to host …``: the type and why (the transports'
    messages name host and port, never a path or query)."""
    reason = str(exc).strip()
    return f"{type(exc).__name__}: {reason[:200]}" if reason else type(exc).__name__


def _credential_failure(provider: ProviderConfig, key: KeyConfig, exc: CredentialError) -> Attempt:
    message = f"provider '{provider.name}': {exc}"
    if exc.key_fault:
        _mark_key_failed(provider, key, 401, settings.VANDAMME_KEY_COOLDOWN_SECONDS)
        return _Failure(GatewayError(401, message), "next_key" if key.key_id else "fail")
    if exc.retryable:
        return _Failure(GatewayError(502, message), "retry")
    return _Failure(GatewayError(503, message, error_type="api_error"), "fail")


def _classify(
    provider: ProviderConfig, key: KeyConfig, response: httpx.Response, error: GatewayError, raw: bytes
) -> _Failure:
    status = response.status_code
    if status in (401, 403):
        if provider.passthrough or not key.key_id:  # the client's key, or no key of ours
            return _Failure(error, "fail")
        if not is_key_rejection(status, raw, response.headers):
            return _Failure(error, "fail")  # about this request (model, resource): not the key's fault
        _mark_key_failed(provider, key, status, settings.VANDAMME_KEY_COOLDOWN_SECONDS)
        return _Failure(error, "next_key")
    if status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        cooldown = settings.VANDAMME_KEY_COOLDOWN_SECONDS if wait is None else wait
        _mark_key_failed(provider, key, status, cooldown, in_streak=False)
        return _Failure(error, "rate_limited", wait)
    if status in RETRYABLE_STATUSES:
        return _Failure(error, "retry")
    return _Failure(error, "fail")


def _all_keys_failed(provider: ProviderConfig, count: int, last: GatewayError) -> GatewayError:
    return GatewayError(
        last.status,
        f"all {count} API keys of provider '{provider.name}' were rejected upstream; "
        f"last answer: {last.message}",
        last.headers,
    )
