"""What the second-factor services share: errors, method names, the clock."""

from __future__ import annotations

import time

from django.utils.translation import gettext_lazy

from strongroom.accounts import services as accounts

LOW_RECOVERY_CODES = 2

METHOD_LABELS = {
    "totp": gettext_lazy("authenticator app"),
    "webauthn": gettext_lazy("security key"),
    "passkey": gettext_lazy("passkey"),
    "recovery_code": gettext_lazy("recovery code"),
}
# Factors a phishing site can relay: signing in with these from a new browser is notified.
PHISHABLE_METHODS = {"totp", "recovery_code"}


class MfaError(accounts.AccountError):
    """A refused second-factor action; ``str(exc)`` is the sentence to show."""


class ReauthenticationNeeded(MfaError):
    pass


class SecondStepExpired(MfaError):
    pass


RateLimited = accounts.RateLimited


def _now(now: float | None) -> float:
    return time.time() if now is None else now
