"""Staff confirm every sensitive console action with their authenticator app.

A fresh code each time: a time step once used (at login or for an earlier action) is
refused, so a code seen over a shoulder or left in a form cannot be replayed.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from strongroom import ratelimit
from strongroom.accounts.actors import Actor, NotPermitted, require_staff
from strongroom.accounts.models import User
from strongroom.console.errors import ConsoleError
from strongroom.mfa import secrets_box, totp
from strongroom.mfa.models import TOTPDevice
from strongroom.mfa.services.queries import has_second_factor


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


def confirm_second_factor(staff: User, code: str, *, now: float | None = None) -> None:
    """Check ``code`` from ``staff``'s authenticator app, and spend its time step.

    Call inside the action's transaction: the device row is locked, so two actions
    cannot share one code.
    """
    held = _take_attempt(staff)
    device = TOTPDevice.objects.select_for_update().filter(user=staff, confirmed=True).first()
    if device is None:
        raise ConsoleError(
            _(
                "Console actions are confirmed with an authenticator app, and your account "
                "has none: add one to your account first."
            )
        )
    try:
        secret = secrets_box.unseal(device.secret)
    except ValueError:
        raise ConsoleError(
            _("Your authenticator app cannot be checked: set it up again.")
        ) from None
    check = totp.verify_totp(
        secret,
        code or "",
        now=time.time() if now is None else now,
        last_used_step=device.last_used_step,
    )
    if check.status is totp.TotpStatus.REUSED:
        raise ConsoleError(
            _("That code was already used. Wait for the next code from your authenticator app.")
        )
    if not check.ok:
        raise ConsoleError(_("The code from your authenticator app is not correct."))
    held.give_back()  # only failures count
    device.last_used_step = check.step
    device.last_used = timezone.now()
    device.save(update_fields=["last_used_step", "last_used"])
