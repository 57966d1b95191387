"""Encrypting second-factor secrets at rest with the TOTP key (see ``strongroom.keys``).

A database dump alone then does not reveal TOTP secrets. New secrets are sealed with the
current key; a secret sealed under a fallback key (or under the derivation used before
per-purpose keys) still opens, and :func:`refreshed` re-seals it with the current key so
that the fallback can be dropped once every authenticator has been used again (the login
re-seals it). Without the key that sealed it, a secret does not open:
the login fails closed.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from strongroom.keys import Purpose, candidates, current, legacy_candidates


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


def _current() -> Fernet:
    return _fernet(current(Purpose.TOTP).key)


def _readers() -> MultiFernet:
    keys = candidates(Purpose.TOTP) + legacy_candidates(Purpose.TOTP)
    return MultiFernet([_fernet(k.key) for k in keys])


def seal(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def unseal(token: str) -> str:
    """The plaintext, or ValueError when no accepted key sealed it or it was altered."""
    try:
        return _readers().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise ValueError("cannot decrypt the stored secret") from exc


def is_current(token: str) -> bool:
    """Was ``token`` sealed with the current key?"""
    try:
        _current().decrypt(token.encode())
    except (InvalidToken, UnicodeError):
        return False
    return True


def refreshed(token: str) -> str:
    """``token`` sealed with the current key (itself when it already is); ValueError as
    :func:`unseal` when it does not open."""
    if is_current(token):
        return token
    return seal(unseal(token))
