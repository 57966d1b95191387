"""Staff confirm every sensitive action with their second factor, again: the console's
own, and the staff actions of other apps (project status and reports in packages/,
trusted-publishing issuers in publishing/), which call ``confirm_staff_action``.

With an authenticator app: a fresh code each time; a time step once used (at login or
for an earlier action) is refused, so a code seen over a shoulder or left in a form
cannot be replayed. With a security key (staff who have no app): the key answers a
challenge this session was given for the console, once; the ceremony is the one the
second login step uses (mfa.webauthn_ceremony, mfa.services.challenges, webauthn.js).
A recovery code never confirms an action: those are for getting back into an account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from webauthn.helpers import base64url_to_bytes

from strongroom import ratelimit
from strongroom.accounts.actors import Actor, NotPermitted, require_staff
from strongroom.accounts.models import User
from strongroom.console.errors import ConsoleError
from strongroom.mfa import secrets_box, totp
from strongroom.mfa import webauthn_ceremony as ceremony
from strongroom.mfa.models import SecurityKey, TOTPDevice
from strongroom.mfa.services.challenges import _store_challenge, _take_challenge
from strongroom.mfa.services.queries import active_totp, has_second_factor

CHALLENGE_PURPOSE = "console"


@dataclass(frozen=True)
class KeyAssertion:
    """A security key's answer (the browser's JSON), and the challenge it had to sign:
    taken from the session for this one action (None: none was pending, or it expired)."""

    credential: str
    challenge: bytes | None
    relying_party: ceremony.RelyingParty


# What confirms one action: a code from the authenticator app, or a key's answer.
Proof = str | KeyAssertion


def confirms_with_key(staff: User) -> bool:
    """Whether the console asks ``staff`` for a security key rather than a code: when they
    have keys and no authenticator app (the app stays the way for staff with both, since
    it also works without JavaScript)."""
    return active_totp(staff) is None and SecurityKey.objects.filter(user=staff).exists()


def key_challenge(staff: User, session: SessionBase, rp: ceremony.RelyingParty) -> str:
    """Options JSON for navigator.credentials.get() with ``staff``'s keys; the challenge
    is kept in ``session`` for the next action (one pending at a time, single use)."""
    keys = list(SecurityKey.objects.filter(user=staff).values_list("credential_id", flat=True))
    if not keys:
        raise ConsoleError(_("Your account has no security key."))
    options, challenge = ceremony.authentication_options(
        rp, allow=keys, require_user_verification=False
    )
    _store_challenge(session, CHALLENGE_PURPOSE, challenge)
    return options


def proof_from(
    cleaned_data: dict[str, Any], session: SessionBase, rp: ceremony.RelyingParty
) -> Proof:
    """What a console form (forms.ConfirmedActionForm) carries: the key's answer, with the
    pending challenge taken from ``session``, or the code."""
    if "credential" in cleaned_data:
        return take_key_assertion(session, cleaned_data["credential"], rp)
    return str(cleaned_data.get("code", ""))


def take_key_assertion(
    session: SessionBase, credential: str, rp: ceremony.RelyingParty
) -> KeyAssertion:
    """The key's answer with the challenge pending in ``session``, which is spent now."""
    state = _take_challenge(session, CHALLENGE_PURPOSE)
    challenge = base64url_to_bytes(state["challenge"]) if state is not None else None
    return KeyAssertion(credential=credential, challenge=challenge, relying_party=rp)


def require_console_staff(actor: Actor) -> User:
    """The acting staff member, who must have a second factor (the system may not act
    here: every console action names a person)."""
    if actor.system or actor.user is None:
        raise NotPermitted(_("Only staff may do that."))
    staff = require_staff(actor)
    assert staff is not None
    if not has_second_factor(staff):
        raise NotPermitted(_("Staff need a second factor to use the console."), two_factor=True)
    return staff


def confirm_staff_action(actor: Actor, proof: Proof | None) -> User | None:
    """For a staff action outside the console's own services (project status, reports,
    trusted-publishing issuers): the acting staff member, who must have a second factor
    and confirm this action with it now (``confirm_second_factor``: a fresh app code or a
    key's answer, never a recovery code, never a password); None for the system (the
    operator's CLI, which has no second factor and needs none).

    Call it inside the action's transaction, before the change, from the service itself:
    then no caller (a view, a script, a future API) can act as staff without the proof.
    """
    if actor.system:
        return None
    staff = require_console_staff(actor)
    if proof is None:
        raise ConsoleError(_("Staff confirm this action with their second factor: none was given."))
    confirm_second_factor(staff, proof)
    return staff


def _take_attempt(staff: User) -> ratelimit.Held:
    """One slot of the account's second-factor budgets (the login step's too), taken
    before the code is checked: a stolen staff session cannot guess codes."""
    budgets = [
        (ratelimit.Limit(f"mfa:account:{rate}", rate), str(staff.pk))
        for rate in settings.MFA_LIMITS_PER_ACCOUNT
    ]
    try:
        return ratelimit.take(*budgets)
    except ratelimit.LimitReached as reached:
        minutes = max(1, (reached.retry_after + 59) // 60)
        raise ConsoleError(
            ngettext(
                "Too many wrong codes. Try again in %(minutes)d minute.",
                "Too many wrong codes. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        ) from None


def confirm_second_factor(staff: User, code: Proof, *, now: float | None = None) -> None:
    """Check ``code`` (a code from ``staff``'s authenticator app, or a security key's
    answer) and spend it: the app's time step, or the key's signature counter.

    Call inside the action's transaction: the device row is locked, so two actions
    cannot share one code. Every failure spends one of the account's second-factor
    attempts.
    """
    held = _take_attempt(staff)
    if isinstance(code, KeyAssertion):
        _confirm_with_key(staff, code)
    else:
        _confirm_with_totp(staff, code, time.time() if now is None else now)
    held.give_back()  # only failures count


def _confirm_with_key(staff: User, assertion: KeyAssertion) -> None:
    failed = _("Your security key could not be verified. Try again.")
    if assertion.challenge is None:
        raise ConsoleError(
            _("The security key's answer came too late or was already used. Try again.")
        )
    try:
        credential_id, _handle = ceremony.credential_id_of(assertion.credential)
    except ceremony.CeremonyError:
        raise ConsoleError(failed) from None
    key = (
        SecurityKey.objects.select_for_update()
        .filter(user=staff, credential_id=credential_id)
        .first()
    )
    if key is None:
        raise ConsoleError(failed)
    try:
        new_count = ceremony.verify_authentication(
            assertion.relying_party,
            assertion.credential,
            challenge=assertion.challenge,
            public_key=key.public_key,
            sign_count=key.sign_count,
            require_user_verification=False,
        )
    except ceremony.ClonedKey:
        raise ConsoleError(
            _(
                "This security key was refused: its signature counter went backwards, which "
                "can mean it was copied. Remove it from your account."
            )
        ) from None
    except ceremony.CeremonyError:
        raise ConsoleError(failed) from None
    key.sign_count = new_count
    key.last_used = timezone.now()
    key.save(update_fields=["sign_count", "last_used"])


def _confirm_with_totp(staff: User, code: str, now: float) -> None:
    device = TOTPDevice.objects.select_for_update().filter(user=staff, confirmed=True).first()
    if device is None:
        raise ConsoleError(
            _(
                "Console actions are confirmed with an authenticator app or a security key, "
                "and your account has neither: add one to your account first."
            )
        )
    try:
        secret = secrets_box.unseal(device.secret)
    except ValueError:
        raise ConsoleError(
            _("Your authenticator app cannot be checked: set it up again.")
        ) from None
    check = totp.verify_totp(secret, code or "", now=now, last_used_step=device.last_used_step)
    if check.status is totp.TotpStatus.REUSED:
        raise ConsoleError(
            _("That code was already used. Wait for the next code from your authenticator app.")
        )
    if not check.ok:
        raise ConsoleError(_("The code from your authenticator app is not correct."))
    device.last_used_step = check.step
    device.last_used = timezone.now()
    device.save(update_fields=["last_used_step", "last_used"])
