"""The authenticator app (TOTP): set-up, activation, removal."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor
from strongroom.mfa import qr, secrets_box, totp
from strongroom.mfa.models import TOTPDevice
from strongroom.mfa.services.changes import (
    _factor_added,
    _factor_removed,
    _lock,
    _refuse_removing_last_factor,
    _require_may_change_factors,
)
from strongroom.mfa.services.common import (
    MfaError,
    _now,
)


@dataclass(frozen=True)
class TotpProvisioning:
    secret: str
    uri: str
    qr_data_uri: str

    @property
    def grouped_secret(self) -> str:
        return totp.grouped(self.secret)


def start_totp_provisioning(actor: Actor) -> TotpProvisioning:
    """Create (or reuse) the acting user's unconfirmed authenticator and describe it."""
    user = _require_may_change_factors(actor, adding=True)
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
    actor: Actor, session: SessionBase | None, code: str, *, now: float | None = None
) -> list[str] | None:
    """Activate the acting user's authenticator once one of its codes checks out; every
    session but ``session`` ends.

    Returns the new recovery codes when this is the account's first factor.
    """
    user = _require_may_change_factors(actor, adding=True)
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
        return _factor_added(actor, session, user, "totp", str(device.label))


def remove_totp(actor: Actor, session: SessionBase | None) -> None:
    user = _require_may_change_factors(actor, adding=False)
    with transaction.atomic():
        _lock(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            raise MfaError(_("No authenticator app is set up."))
        label = str(device.label)
        device.delete()
        _refuse_removing_last_factor(user)
        _factor_removed(actor, session, user, "totp", label)
