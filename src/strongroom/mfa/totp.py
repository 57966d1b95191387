"""TOTP codes (RFC 6238) checked against an explicit clock, free of HTTP and the database.

The caller passes ``now`` (seconds since the epoch) and the last time step this account
used; the answer says whether the code is good, replayed, off by a drifting clock, or
simply wrong. The caller stores the returned step when the code is accepted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

import pyotp

DIGITS = 6
INTERVAL = 30
# Codes from the neighbouring steps are accepted: phones and servers rarely agree to
# the second, and people type slowly.
ACCEPT_WINDOW = 1
# A code this far off is a clock problem worth telling the user about, not a typo.
DRIFT_WINDOW = 10


class TotpStatus(Enum):
    VALID = "valid"
    REUSED = "reused"
    CLOCK_DRIFT = "clock_drift"
    INVALID = "invalid"


@dataclass(frozen=True)
class TotpCheck:
    status: TotpStatus
    step: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is TotpStatus.VALID


def new_secret() -> str:
    """A random 160-bit base32 secret, as authenticator apps expect."""
    return pyotp.random_base32(32)


def time_step(now: float) -> int:
    return int(now) // INTERVAL


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(step * INTERVAL)


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace() and ch != "-")


def well_formed(code: str) -> bool:
    """True when ``code`` (spaces and dashes aside) is DIGITS ASCII digits.

    ``str.isdigit`` alone also accepts Arabic-Indic, fullwidth and superscript digits,
    which no authenticator app shows and ``hmac.compare_digest`` cannot compare.
    """
    code = normalize_code(code)
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def verify_totp(secret: str, code: str, *, now: float, last_used_step: int | None) -> TotpCheck:
    """Check ``code`` at ``now``: valid within ±ACCEPT_WINDOW steps, each step usable once.

    A step at or before ``last_used_step`` is refused even when the code matches, so a
    code seen over someone's shoulder (or phished) cannot be replayed inside its window,
    nor can an older one be used after a newer one.
    """
    if not well_formed(code):
        return TotpCheck(TotpStatus.INVALID)
    code = normalize_code(code)
    current = time_step(now)
    for offset in sorted(range(-ACCEPT_WINDOW, ACCEPT_WINDOW + 1), key=abs):
        step = current + offset
        if hmac.compare_digest(code_at_step(secret, step), code):
            if last_used_step is not None and step <= last_used_step:
                return TotpCheck(TotpStatus.REUSED, step)
            return TotpCheck(TotpStatus.VALID, step)
    for offset in range(-DRIFT_WINDOW, DRIFT_WINDOW + 1):
        if abs(offset) <= ACCEPT_WINDOW:
            continue
        if hmac.compare_digest(code_at_step(secret, current + offset), code):
            return TotpCheck(TotpStatus.CLOCK_DRIFT, current + offset)
    return TotpCheck(TotpStatus.INVALID)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer
    )


def grouped(secret: str) -> str:
    """The secret in groups of four for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


__all__ = [
    "TotpCheck",
    "TotpStatus",
    "code_at_step",
    "grouped",
    "new_secret",
    "provisioning_uri",
    "time_step",
    "verify_totp",
    "well_formed",
]
