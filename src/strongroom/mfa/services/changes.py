"""Shared rules for adding and removing factors: who may, the lock, the last factor,
and the event and email every change sends."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_user
from strongroom.accounts.models import User
from strongroom.accounts.services import mark_second_factor_passed
from strongroom.accounts.session_records import end_sessions_except, session_record_id
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


def _require_may_change_factors(actor: Actor, *, adding: bool) -> User:
    """The acting user, who may change their own factors: a verified address to add one,
    and in a browser session a recently confirmed password."""
    user = require_user(actor)
    if adding and not user.has_verified_primary_email:
        raise MfaError(_("Verify your primary email address before adding a second factor."))
    if actor.needs_reauthentication():
        raise ReauthenticationNeeded(_("Confirm your password to continue."))
    return user


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


def _factor_added(
    actor: Actor, session: SessionBase | None, user: User, method: str, label: str
) -> list[str] | None:
    """Event and email for a new factor; the first factor also gets recovery codes.

    Every other session of the user ends: whoever else was signed in did not pass the
    factor that now guards the account.
    """
    ended = _end_other_sessions(session, user)
    if session is not None:
        # This session has just proved the new factor (a code or a key's signature checked).
        mark_second_factor_passed(session)
    event = record_event(
        EventTag.ACCOUNT_TWO_FACTOR_METHOD_ADDED,
        actor=actor,
        user=user,
        extra={"method": method, "label": label, "sessions_ended": ended},
    )
    send_security_email(
        user,
        "two_factor_added",
        {"method": METHOD_LABELS[method], "label": label},
        actor=actor,
        event=event,
    )
    if RecoveryCode.objects.filter(user=user).exists():
        return None
    return _issue_recovery_codes(actor, user)


def _factor_removed(
    actor: Actor, session: SessionBase | None, user: User, method: str, label: str
) -> None:
    ended = _end_other_sessions(session, user)
    event = record_event(
        EventTag.ACCOUNT_TWO_FACTOR_METHOD_REMOVED,
        actor=actor,
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
        actor=actor,
        event=event,
    )


def _end_other_sessions(session: SessionBase | None, user: User) -> int:
    """Sign out every session of ``user`` but ``session`` (the one making the change)."""
    keep = session_record_id(session) if session is not None else None
    return end_sessions_except(user, keep)


def _issue_recovery_codes(actor: Actor, user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = recovery.generate_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=recovery.hash_code(code)) for code in codes]
    )
    event = record_event(
        EventTag.ACCOUNT_RECOVERY_CODES_GENERATED,
        actor=actor,
        user=user,
        extra={"count": len(codes)},
    )
    send_security_email(
        user, "recovery_codes_generated", {"count": len(codes)}, actor=actor, event=event
    )
    return codes
