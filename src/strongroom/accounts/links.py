"""Signed one-time links for email verification (password reset uses Django's generator)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing

from strongroom.accounts.models import Email

_SALT = "strongroom.accounts.verify-email"


class InvalidLink(Exception):
    """The link is tampered, expired, or already used; ``str(exc)`` says which."""


def make_verification_token(email: Email) -> str:
    """Give ``email`` a fresh nonce (voiding older links) and sign a token for it."""
    email.verification_nonce = secrets.token_urlsafe(24)
    email.save(update_fields=["verification_nonce"])
    return signing.dumps({"e": email.pk, "n": email.verification_nonce}, salt=_SALT)


def check_verification_token(token: str) -> Email:
    """The Email the token was made for, if it is genuine, fresh and unused."""
    from django.utils.translation import gettext as _

    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidLink(_("This verification link has expired. Ask for a new one.")) from exc
    except signing.BadSignature as exc:
        raise InvalidLink(_("This verification link is not valid.")) from exc
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("n"), str)
        or not isinstance(payload.get("e"), int)
    ):
        raise InvalidLink(_("This verification link is not valid."))
    email = Email.objects.select_for_update().filter(pk=int(payload.get("e") or 0)).first()
    if email is None or not email.verification_nonce:
        raise InvalidLink(_("This verification link has already been used."))
    if not secrets.compare_digest(email.verification_nonce, payload["n"]):
        raise InvalidLink(_("This verification link has been replaced by a newer one."))
    return email
