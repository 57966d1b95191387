"""Who is uploading: the one place to swap when API tokens arrive."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest
from django.utils.translation import gettext as _

from strongroom.accounts.models import User
from strongroom.accounts.services import AccountError, authenticate_password
from strongroom.upload.errors import UploadError, forbidden


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """The (username, password) of an HTTP Basic Authorization header, if any."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def authenticate_upload(request: HttpRequest) -> User:
    """Return the uploading user, or raise a 403 UploadError.

    For now this is the account password over HTTP Basic auth, under the same failure
    limits and audit events as the login form.
    """
    credentials = basic_credentials(request)
    if credentials is None:
        raise forbidden(_("Invalid or non-existent authentication information."))
    username, password = credentials
    try:
        user = authenticate_password(request, username, password)
    except AccountError as exc:
        raise forbidden(
            _("Invalid or non-existent authentication information. %(reason)s")
            % {"reason": str(exc)}
        ) from None
    if not user.emails.filter(primary=True, verified=True).exists():
        raise UploadError(
            _("User %(username)s does not have a verified primary email address.")
            % {"username": user.username}
        )
    return user
