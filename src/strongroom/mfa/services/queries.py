"""Questions about a user's second factors: the one place each is answered."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from strongroom.accounts.models import User
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice


def active_totp(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def second_factor_exists(user_field: str = "user") -> Q:
    """A condition for querysets: the row's ``user_field`` has a confirmed authenticator
    app or a security key. The one definition of "has a second factor"; use it in
    ``filter``/``exclude`` or wrapped in ``ExpressionWrapper`` to annotate."""
    totp = TOTPDevice.objects.filter(user=OuterRef(user_field), confirmed=True)
    key = SecurityKey.objects.filter(user=OuterRef(user_field))
    return Q(Exists(totp)) | Q(Exists(key))


def has_second_factor(user: User) -> bool:
    return User.objects.filter(pk=user.pk).filter(second_factor_exists("pk")).exists()


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
