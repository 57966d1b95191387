"""Account recovery for a user who lost every second factor and their recovery codes.

The steps (docs/account-recovery.md): the user, past the password, asks on the second
step; a signed single-use link sent to their verified addresses confirms the request; every
verified address is then told, with a link that cancels it; after RECOVERY_WAIT_HOURS staff
review it in the console with the account's recent history; on approval the factors are
removed, sessions and tokens revoked, and the next login must set up a new factor. Open
requests expire RECOVERY_EXPIRE_DAYS after they were made. Every step records its event.
Each function takes ``now`` (an injectable clock for the waiting period and expiry).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.accounts.session_records import end_sessions_except
from strongroom.console.errors import ConsoleError
from strongroom.console.models import RecoveryRequest
from strongroom.console.reauth import Proof, confirm_second_factor, require_console_staff
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice
from strongroom.mfa.services.queries import has_second_factor
from strongroom.notify.services import send_email
from strongroom.tokens.models import ApiToken
from strongroom.web.http import absolute_url

_CONFIRM_SALT = "strongroom.console.recovery-confirm"
_CANCEL_SALT = "strongroom.console.recovery-cancel"
Status = RecoveryRequest.Status


def _now(now: datetime | None) -> datetime:
    return timezone.now() if now is None else now


def expires_at(request: RecoveryRequest) -> datetime:
    return request.created + timedelta(days=settings.RECOVERY_EXPIRE_DAYS)


def reviewable_at(request: RecoveryRequest) -> datetime | None:
    """When staff may decide: RECOVERY_WAIT_HOURS after the email confirmation."""
    if request.confirmed_at is None:
        return None
    return request.confirmed_at + timedelta(hours=settings.RECOVERY_WAIT_HOURS)


def is_expired(request: RecoveryRequest, now: datetime | None = None) -> bool:
    return request.status in RecoveryRequest.OPEN and _now(now) >= expires_at(request)


def _verified_addresses(user: User) -> list[str]:
    return list(user.emails.filter(verified=True).values_list("email", flat=True))


def _expire_old(user: User, now: datetime) -> None:
    cutoff = now - timedelta(days=settings.RECOVERY_EXPIRE_DAYS)
    RecoveryRequest.objects.filter(
        user=user, status__in=RecoveryRequest.OPEN, created__lte=cutoff
    ).update(status=Status.EXPIRED)


def _link(name: str, salt: str, request: RecoveryRequest, nonce: str) -> str:
    token = signing.dumps({"r": request.pk, "n": nonce}, salt=salt)
    return absolute_url(reverse(name, args=[token]))


def request_recovery(actor: Actor, user: User, *, now: datetime | None = None) -> RecoveryRequest:
    """Start a request for ``user`` (who passed the password step) and email the link
    that confirms it to each verified address."""
    now = _now(now)
    addresses = _verified_addresses(user)
    if not addresses:
        raise ConsoleError(
            _(
                "Your account has no verified email address, so it cannot be recovered "
                "this way. Contact the site's staff."
            )
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        _expire_old(user, now)
        if RecoveryRequest.objects.filter(user=user, status__in=RecoveryRequest.OPEN).exists():
            raise ConsoleError(
                _(
                    "A recovery request for this account is already open. Follow the link "
                    "in the email we sent, or wait for staff to review it."
                )
            )
        request = RecoveryRequest.objects.create(
            user=user,
            created=now,
            confirm_nonce=secrets.token_urlsafe(24),
            cancel_nonce=secrets.token_urlsafe(24),
        )
        record_event(
            EventTag.ACCOUNT_RECOVERY_REQUEST,
            actor=actor,
            user=user,
            extra={"request": request.pk},
        )
        send_email(
            addresses,
            "recovery_confirm",
            {
                "user": user,
                "confirm_url": _link(
                    "recovery:confirm", _CONFIRM_SALT, request, request.confirm_nonce
                ),
                "days": settings.RECOVERY_EXPIRE_DAYS,
            },
            actor=actor,
        )
    return request


def _from_token(token: str, salt: str, field: str) -> RecoveryRequest:
    try:
        payload = signing.loads(
            token, salt=salt, max_age=timedelta(days=settings.RECOVERY_EXPIRE_DAYS)
        )
    except signing.SignatureExpired as exc:
        raise ConsoleError(_("This recovery link has expired.")) from exc
    except signing.BadSignature as exc:
        raise ConsoleError(_("This recovery link is not valid.")) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        raise ConsoleError(_("This recovery link is not valid."))
    request = (
        RecoveryRequest.objects.select_for_update()
        .select_related("user")
        .filter(pk=payload["r"])
        .first()
    )
    nonce = payload.get("n")
    if (
        request is None
        or not isinstance(nonce, str)
        or not secrets.compare_digest(getattr(request, field), nonce)
    ):
        raise ConsoleError(_("This recovery link has already been used."))
    return request


def _open_or_refuse(request: RecoveryRequest, now: datetime) -> None:
    if is_expired(request, now):  # marked EXPIRED when the user asks again (_expire_old)
        raise ConsoleError(_("This recovery request has expired. Start a new one."))
    if request.status not in RecoveryRequest.OPEN:
        raise ConsoleError(
            _("This recovery request is closed (%(status)s).")
            % {"status": request.get_status_display()}
        )


def confirm_recovery(actor: Actor, token: str, *, now: datetime | None = None) -> RecoveryRequest:
    """The signed link from the email: confirm once, then tell every verified address."""
    now = _now(now)
    with transaction.atomic():
        request = _from_token(token, _CONFIRM_SALT, "confirm_nonce")
        _open_or_refuse(request, now)
        if request.status != Status.UNCONFIRMED:
            raise ConsoleError(_("This recovery link has already been used."))
        user = request.user
        request.status = Status.CONFIRMED
        request.confirmed_at = now
        request.confirm_nonce = secrets.token_urlsafe(24)  # the link works once
        request.save(update_fields=["status", "confirmed_at", "confirm_nonce"])
        event = record_event(
            EventTag.ACCOUNT_RECOVERY_CONFIRM, actor=actor, user=user, extra={"request": request.pk}
        )
        send_email(
            _verified_addresses(user),
            "recovery_started",
            {
                "user": user,
                "cancel_url": _link("recovery:cancel", _CANCEL_SALT, request, request.cancel_nonce),
                "hours": settings.RECOVERY_WAIT_HOURS,
            },
            actor=actor,
            event=event,
        )
    return request


def cancel_recovery(actor: Actor, token: str, *, now: datetime | None = None) -> RecoveryRequest:
    """The cancel link sent to every verified address: the request is closed for good."""
    now = _now(now)
    with transaction.atomic():
        request = _from_token(token, _CANCEL_SALT, "cancel_nonce")
        _open_or_refuse(request, now)
        request.status = Status.CANCELLED
        request.decided_at = now
        request.cancel_nonce = secrets.token_urlsafe(24)
        request.save(update_fields=["status", "decided_at", "cancel_nonce"])
        record_event(
            EventTag.ACCOUNT_RECOVERY_CANCEL,
            actor=actor,
            user=request.user,
            extra={"request": request.pk},
        )
    return request


def _decidable(request_id: int, now: datetime) -> RecoveryRequest:
    request = (
        RecoveryRequest.objects.select_for_update()
        .select_related("user")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise ConsoleError(_("That recovery request does not exist."))
    _open_or_refuse(request, now)
    opens = reviewable_at(request)
    if opens is None:
        raise ConsoleError(_("The user has not confirmed this request from their email yet."))
    if now < opens:
        raise ConsoleError(
            _("The waiting period ends at %(when)s UTC: decide after that.")
            % {"when": formats.date_format(opens, "SHORT_DATETIME_FORMAT")}
        )
    return request


def approve_recovery(
    actor: Actor, request_id: int, note: str, *, code: Proof, now: datetime | None = None
) -> RecoveryRequest:
    """Remove every second factor of the account, end its sessions, revoke its tokens;
    its next login must set up a new factor."""
    now = _now(now)
    with transaction.atomic():
        staff = require_console_staff(actor)
        confirm_second_factor(staff, code)
        request = _decidable(request_id, now)
        user = request.user
        if user.pk == staff.pk:
            raise ConsoleError(_("Another staff member must review your own recovery."))
        removed = {
            "totp": TOTPDevice.objects.filter(user=user).delete()[0],
            "security_keys": SecurityKey.objects.filter(user=user).delete()[0],
            "recovery_codes": RecoveryCode.objects.filter(user=user).delete()[0],
            "tokens": ApiToken.objects.filter(user=user).delete()[0],
            "sessions": end_sessions_except(user, None),
        }
        request.status = Status.APPROVED
        request.decided_at = now
        request.decided_by = staff
        request.note = " ".join((note or "").split())[:500]
        request.awaiting_new_factor = True
        request.save(
            update_fields=["status", "decided_at", "decided_by", "note", "awaiting_new_factor"]
        )
        event = record_event(
            EventTag.ADMIN_RECOVERY_APPROVE,
            actor=actor,
            user=user,
            extra={"staff": staff.username, "request": request.pk, **removed},
        )
        send_email(
            _verified_addresses(user),
            "recovery_approved",
            {"user": user, "login_url": absolute_url(reverse("accounts:login"))},
            actor=actor,
            event=event,
        )
    return request


def reject_recovery(
    actor: Actor, request_id: int, note: str, *, code: Proof, now: datetime | None = None
) -> RecoveryRequest:
    now = _now(now)
    note = " ".join((note or "").split())[:500]
    if not note:
        raise ConsoleError(_("Say why the request is refused: the user is told."))
    with transaction.atomic():
        staff = require_console_staff(actor)
        confirm_second_factor(staff, code)
        request = _decidable(request_id, now)
        request.status = Status.REJECTED
        request.decided_at = now
        request.decided_by = staff
        request.note = note
        request.save(update_fields=["status", "decided_at", "decided_by", "note"])
        event = record_event(
            EventTag.ADMIN_RECOVERY_REJECT,
            actor=actor,
            user=request.user,
            extra={"staff": staff.username, "request": request.pk, "note": note},
        )
        send_email(
            _verified_addresses(request.user),
            "recovery_rejected",
            {"user": request.user, "note": note},
            actor=actor,
            event=event,
        )
    return request


def needs_new_factor(user: User) -> bool:
    """Whether ``user`` was recovered and must set up a second factor before anything else.
    Once they have one, the request is done (no event: adding the factor recorded its own)."""
    pending = RecoveryRequest.objects.filter(user=user, awaiting_new_factor=True)
    if not pending.exists():
        return False
    if has_second_factor(user):
        pending.update(awaiting_new_factor=False)
        return False
    return True
