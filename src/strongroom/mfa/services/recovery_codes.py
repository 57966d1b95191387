"""Recovery codes: regenerating them and showing new ones once."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor
from strongroom.mfa.services.changes import (
    _issue_recovery_codes,
    _lock,
    _require_may_change_factors,
)
from strongroom.mfa.services.common import (
    MfaError,
)
from strongroom.mfa.services.queries import has_second_factor

FRESH_CODES_KEY = "strongroom_mfa_fresh_codes"


def regenerate_recovery_codes(actor: Actor) -> list[str]:
    """New codes for an account with a second factor; the old ones stop working."""
    user = _require_may_change_factors(actor, adding=False)
    with transaction.atomic():
        _lock(user)
        if not has_second_factor(user):
            raise MfaError(_("Add a second factor first; recovery codes come with it."))
        return _issue_recovery_codes(actor, user)


def keep_fresh_codes(session: SessionBase, codes: list[str] | None) -> None:
    """Hold new codes in the session until the page that shows them (once) is rendered."""
    if codes:
        session[FRESH_CODES_KEY] = codes


def take_fresh_codes(session: SessionBase) -> list[str]:
    codes = session.pop(FRESH_CODES_KEY, None)
    return [str(c) for c in codes] if isinstance(codes, list) else []
