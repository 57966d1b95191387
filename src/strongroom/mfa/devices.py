"""The "known device" cookie: a long-lived signed cookie per account, set after a
successful login, so a phishable factor used from a new browser triggers an email."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.crypto import salted_hmac

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from strongroom.accounts.models import User

_SALT = "strongroom.mfa.known-device"


def cookie_name(user: User) -> str:
    # The name carries no user id in the clear: cookies of several accounts can coexist.
    return "strongroom_device_" + salted_hmac(_SALT, str(user.pk)).hexdigest()[:16]


def is_known_device(request: HttpRequest, user: User) -> bool:
    value = request.get_signed_cookie(
        cookie_name(user), default=None, salt=_SALT, max_age=settings.KNOWN_DEVICE_COOKIE_AGE
    )
    return value == str(user.pk)


def remember_device(request: HttpRequest, response: HttpResponse, user: User) -> None:
    response.set_signed_cookie(
        cookie_name(user),
        str(user.pk),
        salt=_SALT,
        max_age=settings.KNOWN_DEVICE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
