"""A provider's custom upstream headers, encrypted at rest like its keys.

A provider keeps two views of them:
- ``custom_headers``, what pages, the REST API and the audit log show: every name, with
  the value of each secret-named header (``audit.masking.is_secret_header``) as ``MASK``;
- ``sealed_headers``, every value (``Authorization`` and harmless ones alike) as a Fernet
  token under its name. Only the routing snapshot opens them to send them upstream, and a
  configuration load, to tell whether a value changed.

A client of the form or the API that sends ``MASK`` back means "keep the stored value":
the sealed token is kept as it is, without opening it.
"""

from collections.abc import Mapping

from django.views.decorators.debug import sensitive_variables

from audit.masking import MASK, is_secret_header, mask_headers
from providers.crypto import decrypt_secret, encrypt_secret, reencrypt_secret
from providers.models import Provider


def headers_without_stored_value(headers: Mapping[str, str], sealed: Mapping[str, str]) -> list[str]:
    """The names sent as ``MASK`` that have no stored value to keep."""
    return [name for name, value in headers.items() if value == MASK and name not in sealed]


@sensitive_variables("headers")
def provider_headers_set(*, provider: Provider, headers: Mapping[str, str]) -> None:
    """Set both views from ``headers`` as a client sent them (not saved). Raises
    ``ValueError`` naming headers sent as ``MASK`` with nothing stored to keep."""
    stored_sealed, stored_shown = provider.sealed_headers or {}, provider.custom_headers or {}
    unknown = headers_without_stored_value(headers, stored_sealed)
    if unknown:
        raise ValueError(f"no stored value to keep for {', '.join(unknown)}")
    kept = {name for name, value in headers.items() if value == MASK}
    shown = mask_headers({name: value for name, value in headers.items() if name not in kept})
    provider.custom_headers = {
        name: stored_shown.get(name, MASK) if name in kept else shown[name] for name in headers
    }
    provider.sealed_headers = {
        name: stored_sealed[name] if name in kept else encrypt_secret(value)
        for name, value in headers.items()
    }


def headers_would_change(provider: Provider, headers: Mapping[str, str]) -> bool:
    """Whether saving ``headers`` (as a client sent them) changes the provider's headers,
    told without opening them: any secret value sent in clear counts as a change."""
    if set(headers) != set(provider.custom_headers or {}):
        return True
    for name, value in headers.items():
        if value == MASK:
            continue
        if is_secret_header(name) or value != (provider.custom_headers or {}).get(name):
            return True
    return False


@sensitive_variables()
def headers_open(sealed: Mapping[str, str]) -> dict[str, str]:
    """The plaintext headers (for the routing snapshot and the load's change check only)."""
    return {str(name): decrypt_secret(token) for name, token in sealed.items()}


def headers_reencrypt(sealed: Mapping[str, str]) -> dict[str, str]:
    """The tokens re-encrypted under the newest Fernet key (key rotation)."""
    return {name: reencrypt_secret(token) for name, token in sealed.items()}
