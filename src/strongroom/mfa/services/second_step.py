"""The second login step: who is half signed in, and each way to finish."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from strongroom.accounts import services as accounts
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa import devices, recovery, secrets_box, totp
from strongroom.mfa import webauthn_ceremony as ceremony
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice
from strongroom.mfa.services.authenticator import _totp_message
from strongroom.mfa.services.challenges import (
    CHALLENGE_KEY,
    _store_challenge,
    _take_challenge,
    relying_party,
)
from strongroom.mfa.services.changes import _lock
from strongroom.mfa.services.common import (
    METHOD_LABELS,
    PHISHABLE_METHODS,
    MfaError,
    SecondStepExpired,
    _now,
)
from strongroom.mfa.services.limits import _refuse, check_limits
from strongroom.mfa.services.queries import recovery_codes_left
from strongroom.notify.services import send_security_email

PENDING_KEY = "strongroom_mfa_pending"


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    method: str
    next_url: str
    recovery_codes_left: int


def begin_second_step(request: HttpRequest, user: User, next_url: str = "") -> None:
    """After a correct password: remember who is half signed in, in this session only.

    ``request.user`` stays anonymous; nothing but the second-step pages reads this.
    """
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user": str(user.pk), "at": time.time(), "next": next_url}


def pending_user(request: HttpRequest, *, now: float | None = None) -> User | None:
    """The user between password and second factor, while the 5 minutes last."""
    state = request.session.get(PENDING_KEY)
    if not isinstance(state, dict):
        return None
    if _now(now) - float(state.get("at", 0)) > settings.MFA_PENDING_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        return None
    user_id = state.get("user")
    if not isinstance(user_id, str):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def has_pending(request: HttpRequest) -> bool:
    return isinstance(request.session.get(PENDING_KEY), dict)


def cancel_second_step(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(CHALLENGE_KEY, None)


def _pending_or_refuse(request: HttpRequest, now: float | None) -> User:
    user = pending_user(request, now=now)
    if user is None:
        raise SecondStepExpired(_("Your sign-in took too long. Log in again."))
    return user


def _finish_login(
    request: HttpRequest, user: User, method: str, next_url: str | None = None
) -> LoginOutcome:
    state = request.session.pop(PENDING_KEY, None)
    if next_url is None:
        next_url = str(state.get("next", "")) if isinstance(state, dict) else ""
    request.session.pop(CHALLENGE_KEY, None)
    with transaction.atomic():
        new_device = method in PHISHABLE_METHODS and not devices.is_known_device(request, user)
        event = accounts.complete_login(request, user, method=method)
        if new_device:
            send_security_email(
                user,
                "new_device_login",
                {"method": METHOD_LABELS[method]},
                request=request,
                event=event,
            )
    return LoginOutcome(
        user=user,
        method=method,
        next_url=next_url,
        recovery_codes_left=recovery_codes_left(user),
    )


def login_with_totp(request: HttpRequest, code: str, *, now: float | None = None) -> LoginOutcome:
    user = _pending_or_refuse(request, now)
    held = check_limits(request, user)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise MfaError(_("No authenticator app is set up for this account."))
        try:
            secret = secrets_box.unseal(device.secret)
        except ValueError:
            # Sealed under a key this server no longer holds: refuse, never guess.
            raise MfaError(
                _(
                    "Your authenticator app cannot be checked because the server's secret "
                    "key changed. Use a security key or a recovery code, then set up the "
                    "app again."
                )
            ) from None
        check = totp.verify_totp(
            secret,
            code,
            now=_now(now),
            last_used_step=device.last_used_step,
        )
        if check.ok:
            device.last_used_step = check.step
            device.last_used = timezone.now()
            # Sealed under a fallback key: re-seal with the current one, so the old key
            # can be retired once every authenticator has been used.
            device.secret = secrets_box.refreshed(device.secret)
            device.save(update_fields=["last_used_step", "last_used", "secret"])
    if not check.ok:
        reason = "reused_totp" if check.status is totp.TotpStatus.REUSED else "invalid_totp"
        _refuse(request, user, method="totp", reason=reason, message=_totp_message(check))
    held.give_back()  # only failures count
    return _finish_login(request, user, "totp")


def login_with_recovery_code(
    request: HttpRequest, code: str, *, now: float | None = None
) -> LoginOutcome:
    user = _pending_or_refuse(request, now)
    held = check_limits(request, user)
    with transaction.atomic():
        _lock(user)
        match = next(
            (
                c
                for c in RecoveryCode.objects.filter(user=user)
                if recovery.check_code(code, c.code_hash)
            ),
            None,
        )
        fresh = match is not None and match.used_at is None
        if match is not None and fresh:
            match.used_at = timezone.now()
            match.save(update_fields=["used_at"])
            left = recovery_codes_left(user)
            event = record_event(
                EventTag.ACCOUNT_RECOVERY_CODES_USED,
                request=request,
                user=user,
                extra={"remaining": left},
            )
            send_security_email(
                user, "recovery_code_used", {"remaining": left}, request=request, event=event
            )
    if match is None:
        _refuse(
            request,
            user,
            method="recovery_code",
            reason="invalid_recovery_code",
            message=_("This recovery code is not valid."),
        )
    if not fresh:
        _refuse(
            request,
            user,
            method="recovery_code",
            reason="used_recovery_code",
            message=_("This recovery code was already used. Each code works once."),
        )
    held.give_back()  # only failures count
    return _finish_login(request, user, "recovery_code")


def webauthn_login_options(request: HttpRequest) -> str:
    """Options for the half-signed-in user's registered keys."""
    user = _pending_or_refuse(request, None)
    keys = list(SecurityKey.objects.filter(user=user).values_list("credential_id", flat=True))
    if not keys:
        raise MfaError(_("No security key is registered for this account."))
    options, challenge = ceremony.authentication_options(
        relying_party(request), allow=keys, require_user_verification=False
    )
    _store_challenge(request.session, "authenticate", challenge)
    return options


def _verify_assertion(
    request: HttpRequest,
    user: User,
    key: SecurityKey,
    credential: str,
    state: dict[str, Any],
    *,
    method: str,
    require_user_verification: bool,
) -> None:
    try:
        new_count = ceremony.verify_authentication(
            relying_party(request),
            credential,
            challenge=base64url_to_bytes(state["challenge"]),
            public_key=key.public_key,
            sign_count=key.sign_count,
            require_user_verification=require_user_verification,
        )
    except ceremony.ClonedKey:
        with transaction.atomic():
            send_security_email(user, "cloned_key_suspected", {"label": key.label}, request=request)
        _refuse(
            request,
            user,
            method=method,
            reason="cloned_key",
            message=_(
                "This security key was refused: its signature counter went backwards, which "
                "can mean it was copied. Use another method and remove this key."
            ),
        )
    except ceremony.CeremonyError:
        _refuse(
            request,
            user,
            method=method,
            reason="invalid_webauthn",
            message=_("The security key could not be verified. Try again."),
        )
    with transaction.atomic():
        SecurityKey.objects.filter(pk=key.pk).update(sign_count=new_count, last_used=timezone.now())


def login_with_webauthn(request: HttpRequest, credential: str) -> LoginOutcome:
    user = _pending_or_refuse(request, None)
    held = check_limits(request, user)
    state = _take_challenge(request.session, "authenticate")
    failed = _("The security key could not be verified. Try again.")
    if state is None:
        _refuse(request, user, method="webauthn", reason="invalid_webauthn", message=failed)
    try:
        credential_id, _handle = ceremony.credential_id_of(credential)
    except ceremony.CeremonyError:
        _refuse(request, user, method="webauthn", reason="invalid_webauthn", message=failed)
    key = SecurityKey.objects.filter(user=user, credential_id=credential_id).first()
    if key is None:
        _refuse(request, user, method="webauthn", reason="invalid_webauthn", message=failed)
    _verify_assertion(
        request, user, key, credential, state, method="webauthn", require_user_verification=False
    )
    held.give_back()  # only failures count
    return _finish_login(request, user, "passkey" if key.is_passkey else "webauthn")


def passkey_login_options(request: HttpRequest) -> str:
    """Options for signing in from the login page with a passkey and no password."""
    options, challenge = ceremony.authentication_options(
        relying_party(request), allow=[], require_user_verification=True
    )
    _store_challenge(request.session, "passkey", challenge)
    return options


def login_with_passkey(request: HttpRequest, credential: str, next_url: str = "") -> LoginOutcome:
    """A discoverable credential with user verification: both factors at once."""
    held = check_limits(request, None)
    failed = _("The passkey could not be verified. Try again, or log in with your password.")
    state = _take_challenge(request.session, "passkey")
    if state is None:
        _refuse(request, None, method="passkey", reason="invalid_webauthn", message=failed)
    try:
        credential_id, handle = ceremony.credential_id_of(credential)
    except ceremony.CeremonyError:
        _refuse(request, None, method="passkey", reason="invalid_webauthn", message=failed)
    key = (
        SecurityKey.objects.select_related("user")
        .filter(credential_id=credential_id, is_passkey=True, user__is_active=True)
        .first()
    )
    if key is None:
        _refuse(request, None, method="passkey", reason="invalid_webauthn", message=failed)
    user = key.user
    held.extend(check_limits(request, user, address=False))
    if handle is not None and handle != bytes_to_base64url(user.pk.bytes):
        _refuse(request, user, method="passkey", reason="invalid_webauthn", message=failed)
    _verify_assertion(
        request, user, key, credential, state, method="passkey", require_user_verification=True
    )
    held.give_back()  # only failures count
    return _finish_login(request, user, "passkey", next_url)
