"""Recovery codes: regenerating them and showing new ones once."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from strongroom.accounts.models import User
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


def regenerate_recovery_codes(request: HttpRequest, user: User) -> list[str]:
    """New codes for an account with a second factor; the old ones stop working."""
    _require_may_change_factors(request, user, adding=False)
    with transaction.atomic():
        _lock(user)
        if not has_second_factor(user):
            raise MfaError(_("Add a second factor first; recovery codes come with it."))
        return _issue_recovery_codes(request, user)


def keep_fresh_codes(request: HttpRequest, codes: list[str] | None) -> None:
    """Hold new codes in the session until the page that shows them (once) is rendered."""
    if codes:
        request.session[FRESH_CODES_KEY] = codes


def take_fresh_codes(request: HttpRequest) -> list[str]:
    codes = request.session.pop(FRESH_CODES_KEY, None)
    return [str(c) for c in codes] if isinstance(codes, list) else []
