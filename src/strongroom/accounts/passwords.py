"""Password validators beyond Django's own: a length cap and a breached-password check."""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

log = logging.getLogger("strongroom.accounts")

MAX_PASSWORD_LENGTH = 4096


@dataclass(frozen=True)
class PasswordCandidate:
    """The attributes a new password must not resemble, for an account not yet saved.

    Django's similarity validator reads ``user._meta`` to name the attribute a password
    resembles, so the stand-in carries the user model's.
    """

    username: str
    email: str

    @property
    def _meta(self) -> Any:
        from django.contrib.auth import get_user_model

        return get_user_model()._meta


class MaximumLengthValidator:
    """Refuse absurdly long passwords before they reach the (expensive) hasher."""

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise ValidationError(
                _("Passwords can be at most %(max)d characters long.")
                % {"max": MAX_PASSWORD_LENGTH},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("At most %(max)d characters.") % {"max": MAX_PASSWORD_LENGTH}


def breach_count(password: str, api_url: str, timeout: float) -> int:
    """How often ``password`` appears in a k-anonymity range API (HIBP's protocol).

    Only the first five hex digits of the SHA-1 leave this machine.
    """
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    url = api_url.rstrip("/") + "/" + prefix
    if not url.startswith(("http://", "https://")):
        raise ValueError("the breached-password API URL must be http(s)")
    request = urllib.request.Request(url, headers={"Add-Padding": "true"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read().decode("utf-8", "replace")
    for line in body.splitlines():
        candidate, _sep, count = line.strip().partition(":")
        if candidate.upper() == suffix:
            try:
                return int(count)
            except ValueError:
                return 1
    return 0


class BreachedPasswordValidator:
    """Refuse passwords found in breaches, when a range API is configured.

    The check fails open: an unreachable API is logged and the password is judged by the
    other validators alone, so an outage cannot stop people from signing up.
    """

    def validate(self, password: str, user: Any = None) -> None:
        api_url = settings.BREACHED_PASSWORD_API_URL
        if not api_url:
            return
        try:
            count = breach_count(password, api_url, settings.BREACHED_PASSWORD_TIMEOUT)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            log.warning("breached-password check unavailable: %s", exc)
            return
        if count:
            raise ValidationError(
                _(
                    "This password has appeared in a data breach and is not safe to use. "
                    "Choose a different password."
                ),
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return _("Not a password known from data breaches.")
