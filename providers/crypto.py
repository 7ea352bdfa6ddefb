"""Encryption of upstream API keys at rest.

MultiFernet over ``settings.VANDAMME_FERNET_KEYS``: the first key encrypts, every key
decrypts, so the encryption key itself can be rotated (add a new key first, run
``manage.py rotate_fernet_keys``, then drop the old one).
"""

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

FINGERPRINT_LENGTH = 12


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured Fernet key."""


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _multi_fernet(tuple(settings.VANDAMME_FERNET_KEYS))


@sensitive_variables("secret")
def encrypt_secret(secret: str) -> str:
    return _current().encrypt(secret.encode()).decode()


@sensitive_variables("secret")
def decrypt_secret(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "stored secret cannot be decrypted with any key in VANDAMME_FERNET_KEYS"
        ) from exc


def reencrypt_secret(ciphertext: str) -> str:
    """Re-encrypt under the first (newest) Fernet key."""
    return _current().rotate(ciphertext.encode()).decode()


@sensitive_variables("secret")
def fingerprint_secret(secret: str) -> str:
    """A short, stable, non-reversible id for a secret, safe to show and log."""
    return hashlib.sha256(secret.encode()).hexdigest()[:FINGERPRINT_LENGTH]


@sensitive_variables("secret")
def last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 12 else ""
