"""Shared rules for adding and removing factors: who may, the lock, the last factor,
and the event and email every change sends."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from strongroom.accounts import services as accounts
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa import recovery
from strongroom.mfa.models import RecoveryCode, SecurityKey
from strongroom.mfa.policy import two_factor_required_for
from strongroom.mfa.services.common import (
    LOW_RECOVERY_CODES,
    METHOD_LABELS,
    MfaError,
    ReauthenticationNeeded,
)
from strongroom.mfa.services.queries import active_totp, has_second_factor, recovery_codes_left
from strongroom.notify.services import send_security_email


def summary(user: User) -> dict[str, Any]:
    """What the account page shows about second factors."""
    enabled = has_second_factor(user)
    left = recovery_codes_left(user)
    return {
        "enabled": enabled,
        "totp": active_totp(user),
        "security_keys": list(SecurityKey.objects.filter(user=user)),
        "recovery_codes_left": left,
        "recovery_codes_low": enabled and left <= LOW_RECOVERY_CODES,
        "required_reason": two_factor_required_for(user),
        "can_add": user.has_verified_primary_email,
    }


def _require_may_change_factors(request: HttpRequest, user: User, *, adding: bool) -> None:
    if adding and not user.has_verified_primary_email:
        raise MfaError(_("Verify your primary email address before adding a second factor."))
    if accounts.needs_reauthentication(request):
        raise ReauthenticationNeeded(_("Confirm your password to continue."))


def _lock(user: User) -> None:
    """Serialise factor changes per account (SQLite already serialises every write)."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def _refuse_removing_last_factor(user: User) -> None:
    """Called after the deletion, inside the transaction: roll back when none is left."""
    if has_second_factor(user):
        return
    reason = two_factor_required_for(user)
    if reason:
        raise MfaError(
            _("You cannot remove your last second factor: %(reason)s") % {"reason": reason}
        )
    # Without a factor the codes protect nothing and would confuse a later setup.
    RecoveryCode.objects.filter(user=user).delete()


def _factor_added(request: HttpRequest, user: User, method: str, label: str) -> list[str] | None:
    """Event and email for a new factor; the first factor also gets recovery codes.

    Every other session of the user ends: whoever else was signed in did not pass the
    factor that now guards the account.
    """
    ended = accounts.end_other_sessions(request, user)
    event = record_event(
        EventTag.ACCOUNT_TWO_FACTOR_METHOD_ADDED,
        request=request,
        user=user,
        extra={"method": method, "label": label, "sessions_ended": ended},
    )
    send_security_email(
        user,
        "two_factor_added",
        {"method": METHOD_LABELS[method], "label": label},
        request=request,
        event=event,
    )
    if RecoveryCode.objects.filter(user=user).exists():
        return None
    return _issue_recovery_codes(request, user)


def _factor_removed(request: HttpRequest, user: User, method: str, label: str) -> None:
    ended = accounts.end_other_sessions(request, user)
    event = record_event(
        EventTag.ACCOUNT_TWO_FACTOR_METHOD_REMOVED,
        request=request,
        user=user,
        extra={"method": method, "label": label, "sessions_ended": ended},
    )
    send_security_email(
        user,
        "two_factor_removed",
        {
            "method": METHOD_LABELS[method],
            "label": label,
            "still_enabled": has_second_factor(user),
        },
        request=request,
        event=event,
    )


def _issue_recovery_codes(request: HttpRequest, user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = recovery.generate_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=recovery.hash_code(code)) for code in codes]
    )
    event = record_event(
        EventTag.ACCOUNT_RECOVERY_CODES_GENERATED,
        request=request,
        user=user,
        extra={"count": len(codes)},
    )
    send_security_email(
        user, "recovery_codes_generated", {"count": len(codes)}, request=request, event=event
    )
    return codes
