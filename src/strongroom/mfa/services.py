"""Every second-factor rule, once: adding and removing factors, recovery codes, and the
second login step. Each write runs in one transaction with its audit event and email.

Views and any other path (admin, CLI) call these functions and nothing below them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from strongroom import ratelimit
from strongroom.accounts import services as accounts
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa import devices, qr, recovery, secrets_box, totp
from strongroom.mfa import webauthn_ceremony as ceremony
from strongroom.mfa.models import LABEL_MAX_LENGTH, RecoveryCode, SecurityKey, TOTPDevice
from strongroom.mfa.policy import two_factor_required_for
from strongroom.notify.services import send_security_email
from strongroom.web.http import client_ip

PENDING_KEY = "strongroom_mfa_pending"
CHALLENGE_KEY = "strongroom_mfa_challenge"
FRESH_CODES_KEY = "strongroom_mfa_fresh_codes"
CHALLENGE_MAX_AGE = 5 * 60
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


@dataclass(frozen=True)
class TotpProvisioning:
    secret: str
    uri: str
    qr_data_uri: str

    @property
    def grouped_secret(self) -> str:
        return totp.grouped(self.secret)


@dataclass(frozen=True)
class LoginOutcome:
    user: User
    method: str
    next_url: str
    recovery_codes_left: int


def _now(now: float | None) -> float:
    return time.time() if now is None else now


# --- queries ----------------------------------------------------------------------------


def active_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or SecurityKey.objects.filter(user=user).exists()
    )


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


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


def relying_party(request: HttpRequest) -> ceremony.RelyingParty:
    """The WebAuthn relying party: configured id, else this request's host name."""
    host = request.get_host()
    domain, _port = split_domain_port(host)
    return ceremony.RelyingParty(
        id=settings.WEBAUTHN_RP_ID or domain,
        name=settings.WEBAUTHN_RP_NAME,
        origin=f"{request.scheme}://{host}",
    )


# --- shared rules ---------------------------------------------------------------------------


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
    # This session has just proved the new factor (a code or a key's signature checked).
    accounts.mark_second_factor_passed(request)
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


# --- recovery codes -------------------------------------------------------------------------


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


# --- TOTP -----------------------------------------------------------------------------------


def start_totp_provisioning(request: HttpRequest, user: User) -> TotpProvisioning:
    """Create (or reuse) the account's unconfirmed authenticator and describe it."""
    _require_may_change_factors(request, user, adding=True)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user).first()
        if device is not None and device.confirmed:
            raise MfaError(_("An authenticator app is already set up. Remove it to add another."))
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, secret=secrets_box.seal(totp.new_secret())
            )
    secret = secrets_box.unseal(device.secret)
    uri = totp.provisioning_uri(secret, account=user.username, issuer=settings.SITE_NAME)
    return TotpProvisioning(secret=secret, uri=uri, qr_data_uri=qr.svg_data_uri(uri))


def _totp_message(check: totp.TotpCheck) -> str:
    if check.status is totp.TotpStatus.REUSED:
        return _("This code was already used. Wait for the next code from your app.")
    if check.status is totp.TotpStatus.CLOCK_DRIFT:
        return _(
            "The code is not valid now. Your device's clock may be off: check that its "
            "date and time are set automatically."
        )
    return _("The code is not valid. Check your authenticator app and try again.")


def enable_totp(
    request: HttpRequest, user: User, code: str, *, now: float | None = None
) -> list[str] | None:
    """Activate the authenticator once one of its codes checks out.

    Returns the new recovery codes when this is the account's first factor.
    """
    _require_may_change_factors(request, user, adding=True)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            raise MfaError(_("Start the authenticator setup again."))
        check = totp.verify_totp(
            secrets_box.unseal(device.secret), code, now=_now(now), last_used_step=None
        )
        if not check.ok:
            raise MfaError(_totp_message(check))
        device.confirmed = True
        device.confirmed_at = timezone.now()
        device.last_used_step = check.step
        device.save(update_fields=["confirmed", "confirmed_at", "last_used_step"])
        return _factor_added(request, user, "totp", str(device.label))


def remove_totp(request: HttpRequest, user: User) -> None:
    _require_may_change_factors(request, user, adding=False)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise MfaError(_("No authenticator app is set up."))
        label = str(device.label)
        device.delete()
        _refuse_removing_last_factor(user)
        _factor_removed(request, user, "totp", label)


# --- security keys and passkeys ---------------------------------------------------------


def _store_challenge(request: HttpRequest, purpose: str, challenge: bytes, **extra: Any) -> None:
    request.session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "at": time.time(),
        **extra,
    }


def _take_challenge(request: HttpRequest, purpose: str) -> dict[str, Any] | None:
    """The pending challenge for ``purpose``, once (a challenge is single use)."""
    state = request.session.pop(CHALLENGE_KEY, None)
    if not isinstance(state, dict) or state.get("purpose") != purpose:
        return None
    if time.time() - float(state.get("at", 0)) > CHALLENGE_MAX_AGE:
        return None
    return state


def webauthn_registration_options(request: HttpRequest, user: User, *, passkey: bool) -> str:
    """Options JSON for the browser to create a credential for ``user``."""
    _require_may_change_factors(request, user, adding=True)
    existing = list(SecurityKey.objects.filter(user=user).values_list("credential_id", flat=True))
    options, challenge = ceremony.registration_options(
        relying_party(request),
        user_id=user.pk.bytes,
        user_name=user.username,
        exclude=existing,
        passkey=passkey,
    )
    _store_challenge(request, "register", challenge, passkey=passkey)
    return options


def clean_label(label: str) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise MfaError(_("Give the key a name, so you can tell your keys apart."))
    if len(label) > LABEL_MAX_LENGTH:
        raise MfaError(
            _("The name can be at most %(max)d characters long.") % {"max": LABEL_MAX_LENGTH}
        )
    return label


def add_security_key(
    request: HttpRequest, user: User, *, label: str, credential: str
) -> list[str] | None:
    """Register the credential the browser created; returns recovery codes if first factor."""
    _require_may_change_factors(request, user, adding=True)
    label = clean_label(label)
    state = _take_challenge(request, "register")
    if state is None:
        raise MfaError(_("The registration took too long or was already used. Try again."))
    try:
        new = ceremony.verify_registration(
            relying_party(request),
            credential,
            challenge=base64url_to_bytes(state["challenge"]),
            passkey=bool(state.get("passkey")),
        )
    except ceremony.CeremonyError as exc:
        raise MfaError(_("The security key could not be registered. Try again.")) from exc
    with transaction.atomic():
        _lock(user)
        if SecurityKey.objects.filter(user=user, label__iexact=label).exists():
            raise MfaError(_("You already have a key with this name. Choose another name."))
        if SecurityKey.objects.filter(credential_id=new.credential_id).exists():
            raise MfaError(_("This key is already registered."))
        passkey = bool(state.get("passkey")) and new.user_verified
        SecurityKey.objects.create(
            user=user,
            label=label,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            is_passkey=passkey,
            backed_up=new.backed_up,
            transports=new.transports,
        )
        return _factor_added(request, user, "passkey" if passkey else "webauthn", label)


def remove_security_key(request: HttpRequest, user: User, key_id: int, typed_label: str) -> None:
    """Remove a key after re-authentication, once its label was typed to confirm."""
    _require_may_change_factors(request, user, adding=False)
    with transaction.atomic():
        _lock(user)
        key = SecurityKey.objects.filter(user=user, pk=key_id).first()
        if key is None:
            raise MfaError(_("That key is not on your account."))
        if " ".join((typed_label or "").split()) != key.label:
            raise MfaError(_("Type the key's name exactly to confirm its removal."))
        method = "passkey" if key.is_passkey else "webauthn"
        key.delete()
        _refuse_removing_last_factor(user)
        _factor_removed(request, user, method, key.label)


# --- limits on second-factor attempts ----------------------------------------------------


def _limits(user: User | None, ip: str) -> list[tuple[ratelimit.Limit, str]]:
    limits = [(ratelimit.Limit("mfa:ip", settings.MFA_LIMIT_PER_IP), ip)]
    if user is not None:
        limits += [
            (ratelimit.Limit(f"mfa:account:{rate}", rate), str(user.pk))
            for rate in settings.MFA_LIMITS_PER_ACCOUNT
        ]
    return limits


def check_limits(request: HttpRequest, user: User | None) -> None:
    """Raise RateLimited when this account or address has failed too often lately."""
    for limit, identifier in _limits(user, client_ip(request)):
        if ratelimit.is_exceeded(limit, identifier):
            wait = ratelimit.retry_after(limit, identifier)
            with transaction.atomic():
                record_event(
                    EventTag.ACCOUNT_RATELIMIT_HIT,
                    request=request,
                    user=user,
                    extra={"limit": limit.scope, "rate": limit.rate, "second_factor": True},
                )
            minutes = max(1, (wait + 59) // 60)
            raise RateLimited(
                ngettext(
                    "Too many two-factor attempts. Try again in %(minutes)d minute.",
                    "Too many two-factor attempts. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                wait,
            )


def _refuse(
    request: HttpRequest, user: User | None, *, method: str, reason: str, message: str
) -> NoReturn:
    """Count a failed attempt, record it, and refuse with ``message``."""
    for limit, identifier in _limits(user, client_ip(request)):
        ratelimit.hit(limit, identifier)
    with transaction.atomic():
        record_event(
            EventTag.ACCOUNT_LOGIN_FAILURE,
            request=request,
            user=user,
            extra={"reason": reason, "method": method, "second_factor": True},
        )
    raise MfaError(message)


# --- the second login step ----------------------------------------------------------------


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
    check_limits(request, user)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise MfaError(_("No authenticator app is set up for this account."))
        check = totp.verify_totp(
            secrets_box.unseal(device.secret),
            code,
            now=_now(now),
            last_used_step=device.last_used_step,
        )
        if check.ok:
            device.last_used_step = check.step
            device.last_used = timezone.now()
            device.save(update_fields=["last_used_step", "last_used"])
    if not check.ok:
        reason = "reused_totp" if check.status is totp.TotpStatus.REUSED else "invalid_totp"
        _refuse(request, user, method="totp", reason=reason, message=_totp_message(check))
    return _finish_login(request, user, "totp")


def login_with_recovery_code(
    request: HttpRequest, code: str, *, now: float | None = None
) -> LoginOutcome:
    user = _pending_or_refuse(request, now)
    check_limits(request, user)
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
    _store_challenge(request, "authenticate", challenge)
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
    check_limits(request, user)
    state = _take_challenge(request, "authenticate")
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
    return _finish_login(request, user, "passkey" if key.is_passkey else "webauthn")


def passkey_login_options(request: HttpRequest) -> str:
    """Options for signing in from the login page with a passkey and no password."""
    options, challenge = ceremony.authentication_options(
        relying_party(request), allow=[], require_user_verification=True
    )
    _store_challenge(request, "passkey", challenge)
    return options


def login_with_passkey(request: HttpRequest, credential: str, next_url: str = "") -> LoginOutcome:
    """A discoverable credential with user verification: both factors at once."""
    check_limits(request, None)
    failed = _("The passkey could not be verified. Try again, or log in with your password.")
    state = _take_challenge(request, "passkey")
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
    check_limits(request, user)
    if handle is not None and handle != bytes_to_base64url(user.pk.bytes):
        _refuse(request, user, method="passkey", reason="invalid_webauthn", message=failed)
    _verify_assertion(
        request, user, key, credential, state, method="passkey", require_user_verification=True
    )
    return _finish_login(request, user, "passkey", next_url)
