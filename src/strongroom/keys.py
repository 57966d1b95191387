"""One key per purpose, derived from the instance secret with HKDF.

``STRONGROOM_SECRET_KEY`` is never used directly by Strongroom's own primitives: API token
root keys, the encryption of TOTP secrets, the audit chain and the login-name hash each get
their own key, ``HKDF-SHA256(secret, info="strongroom/<purpose>/v1")``. Knowing one derived
key tells nothing about the secret or about the others. (Django's own uses of SECRET_KEY,
sessions and signed links, already derive per-purpose keys with ``salted_hmac``; they honour
Django's ``SECRET_KEY_FALLBACKS``, which ``STRONGROOM_SECRET_KEY_FALLBACKS`` fills.)

Rotation: the new secret becomes ``SECRET_KEY`` and the old ones go to
``SECRET_KEY_FALLBACKS``. Writers always use the current key; readers try the current key,
then the fallbacks, in that order (:func:`candidates`). Each derived key has a public
``key_id`` (itself an HKDF output) so a token or an event can say which key made it.

Before this module, the primitives used SECRET_KEY directly with ad-hoc labels; those
derivations are kept as :func:`legacy_candidates` so that tokens, TOTP secrets and audit
events written before the upgrade keep verifying. They are read-only: nothing new is
written with them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class Purpose(StrEnum):
    TOKENS = "tokens"
    TOTP = "totp"
    AUDIT = "audit"
    LOGIN = "login"


@dataclass(frozen=True)
class DerivedKey:
    key_id: str
    key: bytes = b""

    def __repr__(self) -> str:  # never print key material
        return f"DerivedKey(key_id={self.key_id!r})"


_SALT = b"strongroom key derivation"


def _hkdf(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info).derive(
        secret.encode("utf-8")
    )


@lru_cache(maxsize=64)
def derive(secret: str, purpose: Purpose) -> DerivedKey:
    """The key for ``purpose`` under ``secret``, and its public id."""
    key = _hkdf(secret, f"strongroom/{purpose.value}/v1".encode())
    key_id = _hkdf(secret, f"strongroom/{purpose.value}/key-id".encode())[:6].hex()
    return DerivedKey(key_id=key_id, key=key)


def secrets_in_order() -> list[str]:
    """The current instance secret, then its fallbacks (newest first)."""
    fallbacks = [s for s in getattr(settings, "SECRET_KEY_FALLBACKS", []) if s]
    return [settings.SECRET_KEY, *fallbacks]


def current(purpose: Purpose) -> DerivedKey:
    """The key every new token, ciphertext or event of ``purpose`` is made with."""
    return derive(settings.SECRET_KEY, purpose)


def candidates(purpose: Purpose) -> list[DerivedKey]:
    """Keys a reader may accept for ``purpose``: current first, then each fallback."""
    return [derive(secret, purpose) for secret in secrets_in_order()]


def by_id(purpose: Purpose, key_id: str) -> DerivedKey | None:
    """The accepted key with this id, or None when no secret held now made it."""
    for key in candidates(purpose):
        if hmac.compare_digest(key.key_id, key_id):
            return key
    return None


# --- derivations used before per-purpose keys (read-only) ----------------------------------

_LEGACY_TOTP_LABEL = b"strongroom.mfa.totp-secret.v1:"


def _legacy_key(secret: str, purpose: Purpose) -> bytes:
    if purpose is Purpose.TOTP:
        return hashlib.sha256(_LEGACY_TOTP_LABEL + secret.encode()).digest()
    if purpose is Purpose.AUDIT:
        return hmac.new(secret.encode(), b"strongroom audit chain v1", hashlib.sha256).digest()
    # Token root keys and the login hash keyed HMAC with the raw secret itself.
    return secret.encode()


def legacy_candidates(purpose: Purpose) -> list[DerivedKey]:
    """What data written before this module was keyed with, under each accepted secret."""
    return [
        DerivedKey(key_id=f"legacy-{i}", key=_legacy_key(secret, purpose))
        for i, secret in enumerate(secrets_in_order())
    ]
