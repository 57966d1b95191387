"""Every change to an account goes through a function here, in one transaction,
with its audit event and its email."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from strongroom import ratelimit
from strongroom.accounts.backends import find_user_by_login
from strongroom.accounts.errors import AccountError, RateLimited
from strongroom.accounts.limits import (
    check_login_limits,
    login_key,
    record_limit_hit,
    record_login_failure,
)
from strongroom.accounts.links import check_verification_token, make_verification_token
from strongroom.accounts.models import Email, SessionRecord, User
from strongroom.accounts.session_records import (
    SESSION_RECORD_KEY,
    end_sessions_except,
    session_record_id,
)
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_email, send_security_email
from strongroom.web.http import absolute_url, client_ip, user_agent

SESSION_AUTH_AT_KEY = "strongroom_auth_at"
# Whether this session proved a second factor (at login, or by enrolling one in it).
SESSION_SECOND_FACTOR_KEY = "strongroom_second_factor"
SECOND_FACTOR_METHODS = frozenset({"totp", "recovery_code", "webauthn", "passkey"})


# --- registration and email addresses ---------------------------------------------------


def _send_verification(request: HttpRequest | None, email: Email) -> None:
    token = make_verification_token(email)
    link = absolute_url(reverse("accounts:verify_email") + f"?token={token}")
    send_email(
        [email.email],
        "verify_email",
        {"user": email.user, "address": email.email, "link": link},
        request=request,
    )


def register(request: HttpRequest, *, username: str, email: str, password: str) -> User:
    """Create an account with an unverified primary address and send the link."""
    ip = client_ip(request)
    limit = ratelimit.Limit("register:ip", settings.REGISTRATION_LIMIT_PER_IP)
    if not ratelimit.hit(limit, ip):
        record_limit_hit(request, limit)
        raise RateLimited(
            _("Too many accounts were created from your network. Try again later."),
            ratelimit.retry_after(limit, ip),
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password)
            address = Email.objects.create(user=user, email=email, primary=True)
            record_event(EventTag.ACCOUNT_CREATE, request=request, actor=user)
            record_event(
                EventTag.ACCOUNT_EMAIL_ADD, request=request, actor=user, extra={"email": email}
            )
            _send_verification(request, address)
    except IntegrityError as exc:
        # The form checked both, but another sign-up may have taken one since.
        raise AccountError(_("This username or email address is already taken.")) from exc
    return user


def create_user(
    *,
    username: str,
    email: str,
    password: str,
    verified: bool = False,
    staff: bool = False,
    request: HttpRequest | None = None,
) -> User:
    """Provision an account from the command line or the admin."""
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, is_staff=staff, is_superuser=staff
        )
        address = Email.objects.create(
            user=user,
            email=email,
            primary=True,
            verified=verified,
            verified_at=timezone.now() if verified else None,
        )
        record_event(
            EventTag.ACCOUNT_CREATE,
            request=request,
            user=user,
            extra={"provisioned": True, "staff": staff},
        )
        if not verified:
            _send_verification(request, address)
    return user


def resend_verification(request: HttpRequest, email: Email) -> None:
    """Send a new link for an unverified address, at most a few times an hour."""
    if email.verified:
        raise AccountError(_("This address is already verified."))
    limit = ratelimit.Limit("verify:resend", settings.EMAIL_VERIFY_RESEND_LIMIT)
    if not ratelimit.hit(limit, str(email.pk)):
        wait = ratelimit.retry_after(limit, str(email.pk))
        record_limit_hit(request, limit, user=email.user, key=str(email.pk), email=email.email)
        raise RateLimited(
            _("A link was sent recently. Try again in %(minutes)d minutes.")
            % {"minutes": max(1, (wait + 59) // 60)},
            wait,
        )
    with transaction.atomic():
        _send_verification(request, email)


def verify_email(request: HttpRequest, token: str) -> Email:
    """Mark the address behind a verification link as verified; the link then dies."""
    with transaction.atomic():
        email = check_verification_token(token)
        email.verified = True
        email.verified_at = timezone.now()
        email.verification_nonce = ""
        email.save(update_fields=["verified", "verified_at", "verification_nonce"])
        record_event(
            EventTag.ACCOUNT_EMAIL_VERIFIED,
            request=request,
            user=email.user,
            extra={"email": email.email},
        )
    return email


def _other_verified(user: User, *, exclude: str) -> list[str]:
    return [
        e.email for e in user.emails.filter(verified=True) if e.email.lower() != exclude.lower()
    ]


def add_email(request: HttpRequest, user: User, address: str) -> Email:
    with transaction.atomic():
        if Email.objects.filter(email__iexact=address).exists():
            raise AccountError(_("This email address is already in use."))
        try:
            with transaction.atomic():
                email = Email.objects.create(user=user, email=address, primary=False)
        except IntegrityError as exc:
            raise AccountError(_("This email address is already in use.")) from exc
        event = record_event(
            EventTag.ACCOUNT_EMAIL_ADD, request=request, user=user, extra={"email": address}
        )
        _send_verification(request, email)
        send_security_email(
            user,
            "email_added",
            {"address": address},
            request=request,
            recipients=_other_verified(user, exclude=address),
            event=event,
        )
    return email


def remove_email(request: HttpRequest, user: User, email_id: int) -> None:
    with transaction.atomic():
        email = user.emails.select_for_update().filter(pk=email_id).first()
        if email is None:
            raise AccountError(_("That email address is not on your account."))
        if email.primary:
            raise AccountError(
                _("You cannot remove your primary address. Make another address primary first.")
            )
        email.delete()
        event = record_event(
            EventTag.ACCOUNT_EMAIL_REMOVE, request=request, user=user, extra={"email": email.email}
        )
        recipients = _other_verified(user, exclude=email.email)
        if email.verified:
            recipients.append(email.email)
        send_security_email(
            user,
            "email_removed",
            {"address": email.email},
            request=request,
            recipients=recipients,
            event=event,
        )


def set_primary_email(request: HttpRequest, user: User, email_id: int) -> Email:
    with transaction.atomic():
        emails = list(user.emails.select_for_update())
        target = next((e for e in emails if e.pk == email_id), None)
        if target is None:
            raise AccountError(_("That email address is not on your account."))
        if not target.verified:
            raise AccountError(_("Verify this address before making it primary."))
        old = next((e for e in emails if e.primary), None)
        if old is not None and old.pk == target.pk:
            return target
        if old is not None:
            Email.objects.filter(pk=old.pk).update(primary=False)
        Email.objects.filter(pk=target.pk).update(primary=True)
        old_address = old.email if old else ""
        event = record_event(
            EventTag.ACCOUNT_EMAIL_PRIMARY_CHANGE,
            request=request,
            user=user,
            extra={"old": old_address, "new": target.email},
        )
        send_security_email(
            user,
            "primary_email_changed",
            {"address": target.email, "old_address": old_address},
            request=request,
            recipients=[e.email for e in emails if e.verified],
            event=event,
        )
    return target


# --- login, sessions and re-authentication ---------------------------------------------


def authenticate_password(request: HttpRequest, login: str, password: str) -> User:
    """Check a login name and password under the failure limits.

    Returns the user on success (the caller then completes the login, or asks for the
    second factor). Raises RateLimited or AccountError, recording the failure.
    """
    login = (login or "").strip()[:254]
    user = find_user_by_login(login)
    held = check_login_limits(request, login, user)
    authenticated = auth.authenticate(request, username=login, password=password)
    if authenticated is None:
        reason = "unknown_user" if user is None else "invalid_password"
        if user is not None and not user.is_active:
            reason = "inactive"
        record_login_failure(request, user, reason=reason, login_hash=login_key(login))
        raise AccountError(_("The username or password is not correct."))
    assert isinstance(authenticated, User)
    held.give_back()  # only failures count
    return authenticated


def start_session(request: HttpRequest, user: User) -> SessionRecord:
    """Register a new signed-in session (called on every login, whatever the path)."""
    record = SessionRecord.objects.create(
        user=user, ip=client_ip(request), user_agent=user_agent(request)
    )
    request.session[SESSION_RECORD_KEY] = str(record.pk)
    request.session[SESSION_AUTH_AT_KEY] = time.time()
    return record


def complete_login(request: HttpRequest, user: User, *, method: str = "password") -> Event:
    """Sign the user in: new session id, session record, audit event (returned)."""
    with transaction.atomic():
        auth.login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        request.session[SESSION_SECOND_FACTOR_KEY] = method in SECOND_FACTOR_METHODS
        return record_event(
            EventTag.ACCOUNT_LOGIN_SUCCESS, request=request, actor=user, extra={"method": method}
        )


def logout(request: HttpRequest) -> None:
    user = request.user if isinstance(request.user, User) else None
    with transaction.atomic():
        record_id = request.session.get(SESSION_RECORD_KEY)
        if user is not None:
            if record_id:
                SessionRecord.objects.filter(pk=str(record_id), user=user).delete()
            record_event(EventTag.ACCOUNT_LOGOUT, request=request, actor=user)
    auth.logout(request)


def mark_second_factor_passed(session: SessionBase) -> None:
    """This session has just proved a second factor (e.g. by enrolling one)."""
    session[SESSION_SECOND_FACTOR_KEY] = True


def passed_second_factor(request: HttpRequest) -> bool:
    """Whether the signed-in session proved a second factor, not a password alone."""
    return request.session.get(SESSION_SECOND_FACTOR_KEY) is True


def current_session_id(request: HttpRequest) -> str | None:
    return session_record_id(request.session)


def revoke_session(request: HttpRequest, user: User, record_id: str) -> None:
    """End one of the user's sessions: it is signed out on its next request."""
    try:
        record_id = str(uuid.UUID(str(record_id)))
    except ValueError as exc:
        raise AccountError(_("That session has already ended.")) from exc
    with transaction.atomic():
        deleted, _rows = SessionRecord.objects.filter(pk=record_id, user=user).delete()
        if not deleted:
            raise AccountError(_("That session has already ended."))
        record_event(
            EventTag.ACCOUNT_SESSION_REVOKED,
            request=request,
            user=user,
            extra={"session": str(record_id)},
        )


def end_other_sessions(request: HttpRequest | None, user: User) -> int:
    return end_sessions_except(user, current_session_id(request) if request else None)


def reauthentication_age(request: HttpRequest) -> float:
    """Seconds since the user last proved who they are in this session."""
    at = request.session.get(SESSION_AUTH_AT_KEY)
    return time.time() - float(at) if at else float("inf")


def needs_reauthentication(request: HttpRequest) -> bool:
    return reauthentication_age(request) > settings.REAUTH_MAX_AGE


def reauthenticate(request: HttpRequest, password: str) -> None:
    """Confirm the signed-in user's password for a sensitive action."""
    user: User = request.user  # type: ignore[assignment]
    login = user.username
    held = check_login_limits(request, login, user, signed_in=True)
    if not user.check_password(password):
        record_login_failure(request, user, reason="invalid_password", reauthentication=True)
        raise AccountError(_("The password is not correct."))
    held.give_back()
    request.session[SESSION_AUTH_AT_KEY] = time.time()
    with transaction.atomic():
        record_event(EventTag.ACCOUNT_REAUTHENTICATE, request=request, user=user)


# --- changes made by staff in the admin -----------------------------------------------------


def set_time_zone(user: User, zone: str) -> None:
    """The zone history pages use for this user (a display preference: no audit event)."""
    import zoneinfo

    if zone not in zoneinfo.available_timezones():
        raise AccountError(_("Choose a time zone from the list."))
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


# --- passwords --------------------------------------------------------------------------


def change_password(request: HttpRequest, user: User, current: str, new: str) -> None:
    """Change the password (current one required); every other session ends.

    A wrong current password counts as a failed login, so a stolen session cannot be
    used to guess the password without limit.
    """
    held = check_login_limits(request, user.username, user, signed_in=True)
    if not user.check_password(current):
        record_login_failure(request, user, reason="invalid_password", password_change=True)
        raise AccountError(_("Your current password is not correct."))
    held.give_back()
    with transaction.atomic():
        user.set_password(new)
        user.save(update_fields=["password"])
        ended = end_other_sessions(request, user)
        auth.update_session_auth_hash(request, user)
        event = record_event(
            EventTag.ACCOUNT_PASSWORD_CHANGE,
            request=request,
            user=user,
            extra={"sessions_ended": ended},
        )
        send_security_email(user, "password_changed", request=request, event=event)


def request_password_reset(request: HttpRequest, login: str) -> None:
    """Email a reset link to the primary address of the account, if there is one.

    The caller shows the same answer whether or not the account exists.
    """
    ip = client_ip(request)
    limit = ratelimit.Limit("password-reset:ip", settings.PASSWORD_RESET_LIMIT)
    if not ratelimit.hit(limit, ip):
        record_limit_hit(request, limit)
        wait = ratelimit.retry_after(limit, ip)
        raise RateLimited(
            _("Too many password reset requests. Try again in %(minutes)d minutes.")
            % {"minutes": max(1, (wait + 59) // 60)},
            wait,
        )
    user = find_user_by_login(login)
    if user is None or not user.is_active:
        return
    primary = user.emails.filter(primary=True).first()
    if primary is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = absolute_url(reverse("accounts:reset_password", args=[uid, token]))
    with transaction.atomic():
        record_event(EventTag.ACCOUNT_PASSWORD_RESET_REQUEST, request=request, user=user)
        send_email([primary.email], "password_reset", {"user": user, "link": link}, request=request)


def check_reset_link(uidb64: str, token: str) -> User:
    """The user a reset link belongs to, while it is still valid."""
    from django.utils.http import urlsafe_base64_decode

    try:
        uid = urlsafe_base64_decode(uidb64).decode()
        user = User.objects.get(pk=uid)
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist) as exc:
        raise AccountError(_("This password reset link is not valid.")) from exc
    if not default_token_generator.check_token(user, token):
        raise AccountError(
            _("This password reset link has expired or has already been used. Ask for a new one.")
        )
    return user


def reset_password(request: HttpRequest, uidb64: str, token: str, new: str) -> User:
    """Set a new password from a reset link; the link and every session then die."""
    with transaction.atomic():
        user = check_reset_link(uidb64, token)
        user.set_password(new)
        user.save(update_fields=["password"])
        ended = end_other_sessions(None, user)
        event = record_event(
            EventTag.ACCOUNT_PASSWORD_RESET,
            request=request,
            user=user,
            extra={"sessions_ended": ended},
        )
        send_security_email(user, "password_was_reset", request=request, event=event)
    return user
