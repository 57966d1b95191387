"""Questions about a user's second factors: the one place each is answered."""

from __future__ import annotations

from strongroom.accounts.models import User
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice


def active_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or SecurityKey.objects.filter(user=user).exists()
    )


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
