"""Writes to providers and key pools. Admin, REST API and loaders all call these."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from providers.crypto import encrypt_secret, fingerprint_secret, last4, reencrypt_secret
from providers.generation import config_generation_bump
from providers.headers import headers_reencrypt, headers_would_change, provider_headers_set
from providers.models import ApiKey, Provider, Source


class DuplicateKeyError(ValueError):
    """The provider's pool already holds this secret."""


@sensitive_variables("secret")
def api_key_create(
    *, provider: Provider, secret: str, source: str = Source.ADMIN, label: str = "", enabled: bool = True
) -> ApiKey:
    secret = secret.strip()
    if not secret:
        raise ValueError("an API key cannot be empty")
    fingerprint = fingerprint_secret(secret)
    if ApiKey.objects.filter(provider=provider, fingerprint=fingerprint).exists():
        raise DuplicateKeyError(f"provider {provider.name} already has key {fingerprint}")
    return ApiKey.objects.create(
        provider=provider,
        ciphertext=encrypt_secret(secret),
        fingerprint=fingerprint,
        last4=last4(secret),
        label=label,
        source=source,
        enabled=enabled,
    )


@sensitive_variables("secret")
def api_key_replace_secret(*, api_key: ApiKey, secret: str) -> ApiKey:
    """Swap the secret of an existing key (keeps its label and history)."""
    secret = secret.strip()
    if not secret:
        raise ValueError("an API key cannot be empty")
    fingerprint = fingerprint_secret(secret)
    clash = ApiKey.objects.filter(provider=api_key.provider, fingerprint=fingerprint).exclude(pk=api_key.pk)
    if clash.exists():
        raise DuplicateKeyError(f"provider {api_key.provider.name} already has key {fingerprint}")
    api_key.ciphertext = encrypt_secret(secret)
    api_key.fingerprint = fingerprint
    api_key.last4 = last4(secret)
    api_key.consecutive_failures = 0
    api_key.cooldown_until = None
    api_key.save()
    return api_key


def api_keys_set_enabled(*, keys: Iterable[ApiKey], enabled: bool) -> int:
    """Enable or disable keys; re-enabling clears their failure state. A key disabled
    here is the operator's choice (not ``auto_disabled``): a load does not undo it."""
    changed = 0
    with transaction.atomic():
        for api_key in keys:
            api_key.enabled = enabled
            api_key.auto_disabled = False
            if enabled:
                api_key.consecutive_failures = 0
                api_key.cooldown_until = None
            api_key.save()
            changed += 1
    return changed


def providers_set_enabled(*, providers: Iterable[Provider], enabled: bool) -> int:
    changed = 0
    with transaction.atomic():
        for provider in providers:
            provider.enabled = enabled
            provider.save(update_fields=["enabled", "updated_at"])
            changed += 1
    return changed


def provider_set_default(*, provider: Provider | None) -> None:
    """Make ``provider`` the only default provider (``None``: no default)."""
    with transaction.atomic():
        others = Provider.objects.filter(is_default=True)
        if provider is not None:
            others = others.exclude(pk=provider.pk)
        # update() sends no signal: bump here, or clearing the default reaches no gateway.
        if others.update(is_default=False):
            config_generation_bump()
        if provider is not None and not provider.is_default:
            provider.is_default = True
            provider.save(update_fields=["is_default", "updated_at"])


def provider_headers_reencrypt() -> int:
    """Re-encrypt every provider's custom header values under the newest Fernet key."""
    count = 0
    with transaction.atomic():
        for provider in Provider.objects.select_for_update().exclude(sealed_headers={}):
            provider.sealed_headers = headers_reencrypt(provider.sealed_headers)
            provider.save(update_fields=["sealed_headers", "updated_at"])
            count += 1
    return count


def api_keys_reencrypt() -> int:
    """Re-encrypt every stored key under the newest Fernet key (key rotation)."""
    count = 0
    with transaction.atomic():
        for api_key in ApiKey.objects.select_for_update().all():
            api_key.ciphertext = reencrypt_secret(api_key.ciphertext)
            api_key.save(update_fields=["ciphertext", "updated_at"])
            count += 1
    return count


def api_key_record_failure(
    *,
    key_id: int,
    status: int | None,
    reason: str,
    cooldown_until: datetime | None,
    disable: bool,
    in_streak: bool = True,
) -> None:
    """Persist a classified upstream failure of a key (shown in the admin).

    ``in_streak=False`` records the failure and its cooldown without lengthening the
    streak of failures in a row (a 429 proves the key valid, only busy).
    Written with ``update()``: failure bookkeeping must not rebuild every process's
    routing snapshot; only disabling a key does, because it changes the pool.
    """
    fields: dict[str, object] = {
        "last_failure_at": timezone.now(),
        "last_failure_status": status,
        "last_failure_reason": reason[:200],
        "cooldown_until": cooldown_until,
    }
    if in_streak:
        fields["consecutive_failures"] = F("consecutive_failures") + 1
    if disable:
        fields["enabled"] = False
        fields["auto_disabled"] = True
    ApiKey.objects.filter(pk=key_id).update(**fields)
    if disable:
        config_generation_bump()


def api_key_record_success(*, key_id: int) -> None:
    """The key served a request: its streak of failures in a row and its cooldown end.
    Keeps the last failure (time, status, reason) for the admin."""
    ApiKey.objects.filter(Q(consecutive_failures__gt=0) | Q(cooldown_until__isnull=False), pk=key_id).update(
        consecutive_failures=0, cooldown_until=None
    )


class ManagedFieldError(ValueError):
    """A write to fields the environment or a TOML file sets: the next load would undo it."""

    def __init__(self, obj: object, fields: Iterable[str]) -> None:
        self.fields = sorted(fields)
        super().__init__(
            f"{obj} is set by the environment or a TOML file ({', '.join(self.fields)}): change it there"
        )


def _field_would_change(provider: Provider, name: str, value: Any) -> bool:
    if name == "custom_headers":  # told without opening the sealed values
        return headers_would_change(provider, value)
    return bool(getattr(provider, name) != value)


def _refuse_managed_changes(provider: Provider, fields: dict[str, Any]) -> None:
    managed = [name for name in provider.managed_fields() if name in fields]
    changed = [name for name in managed if _field_would_change(provider, name, fields[name])]
    if changed:
        raise ManagedFieldError(provider, changed)


@sensitive_variables("headers")
def _set_fields(provider: Provider, fields: dict[str, Any]) -> None:
    """Set ``fields``; custom headers as a client sent them (a masked value keeps the
    stored one), sealed."""
    headers = fields.pop("custom_headers", None)
    for name, value in fields.items():
        setattr(provider, name, value)
    if headers is not None:
        provider_headers_set(provider=provider, headers=headers)


def provider_create(*, name: str, is_default: bool = False, **fields: Any) -> Provider:
    """A provider made in the admin or the API (``source`` admin: no load overrides it)."""
    with transaction.atomic():
        provider = Provider(name=name, source=Source.ADMIN)
        _set_fields(provider, fields)
        provider.full_clean(exclude=["is_default"])
        provider.save()
        if is_default:
            provider_set_default(provider=provider)
    return provider


def provider_update(*, provider: Provider, is_default: bool | None = None, **fields: Any) -> Provider:
    """Change fields; refuses (``ManagedFieldError``) to change fields a load sets."""
    _refuse_managed_changes(provider, fields)
    with transaction.atomic():
        _set_fields(provider, fields)
        provider.full_clean(exclude=["is_default"])
        provider.save()
        if is_default is True:
            provider_set_default(provider=provider)
        elif is_default is False and provider.is_default:
            provider_set_default(provider=None)
            provider.is_default = False
    return provider


def provider_delete(*, provider: Provider) -> None:
    """Delete a provider with its keys and scoped aliases; loaded providers are refused."""
    if provider.source != Source.ADMIN:
        raise ManagedFieldError(provider, ["the provider itself"])
    provider.delete()


@sensitive_variables("secret")
def api_key_update(
    *, api_key: ApiKey, secret: str | None = None, label: str | None = None, enabled: bool | None = None
) -> ApiKey:
    """Relabel, enable/disable or replace the secret of a key. A key set by the environment
    or a file may only be enabled or disabled."""
    if api_key.source != Source.ADMIN:
        changed = ["secret"] if secret else []
        if label is not None and label != api_key.label:
            changed.append("label")
        if changed:
            raise ManagedFieldError(api_key, changed)
    with transaction.atomic():
        if secret:
            api_key_replace_secret(api_key=api_key, secret=secret)
        if enabled is not None and enabled != api_key.enabled:
            api_keys_set_enabled(keys=[api_key], enabled=enabled)
        if label is not None and label != api_key.label:
            api_key.label = label
            api_key.save(update_fields=["label", "updated_at"])
    return api_key


def api_key_delete(*, api_key: ApiKey) -> None:
    if api_key.source != Source.ADMIN:
        raise ManagedFieldError(api_key, ["the key itself"])
    api_key.delete()
