"""Encrypting second-factor secrets at rest with a key derived from SECRET_KEY.

A database dump alone then does not reveal TOTP secrets. Rotating SECRET_KEY makes the
stored secrets unreadable, so authenticators must be set up again after a rotation.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

_LABEL = b"strongroom.mfa.totp-secret.v1:"


def _fernet() -> Fernet:
    key = hashlib.sha256(_LABEL + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    """The plaintext, or ValueError when the key changed or the token was altered."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt the stored secret") from exc
