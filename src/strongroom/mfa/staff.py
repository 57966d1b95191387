"""Who may use staff pages: an active staff account with a second factor, proved in this
session (at login, or by enrolling the factor in it).

This is the one place that says so: the Django admin (web.admin_site), the staff audit log
and the history pages (which show other people's IP addresses to staff only) all ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from strongroom.accounts.services import passed_second_factor
from strongroom.mfa.policy import TwoFactorNeeded
from strongroom.mfa.services.queries import has_second_factor

View = Callable[..., HttpResponseBase]


class StaffTwoFactorNeeded(TwoFactorNeeded):
    """A staff account reached a staff page with a password only (the 403 page explains)."""

    def __init__(self, reason: str, *, sign_in_again: bool):
        super().__init__(reason)
        self.sign_in_again = sign_in_again


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def staff_refusal(request: HttpRequest) -> StaffTwoFactorNeeded | None:
    """Why this staff member may not use staff pages yet, or None when they may.

    Call only for staff (``_is_staff``); for anyone else the pages do not exist.
    """
    if not has_second_factor(request.user):  # type: ignore[arg-type]
        return StaffTwoFactorNeeded(
            _(
                "Staff pages need a second factor, and your account has none: add an "
                "authenticator app or a security key to your account, then come back."
            ),
            sign_in_again=False,
        )
    if not passed_second_factor(request):
        return StaffTwoFactorNeeded(
            _(
                "Staff pages need a second factor, and this session was signed in without "
                "one: log out, then log in again with your authenticator app or security key."
            ),
            sign_in_again=True,
        )
    return None


def is_verified_staff(request: HttpRequest) -> bool:
    """Staff with a second factor that this session has passed."""
    return _is_staff(request) and staff_refusal(request) is None


def require_staff(request: HttpRequest) -> None:
    """404 for everyone but staff (the page does not announce itself); a 403 page that
    says what to do for staff without a second factor proved in this session."""
    if not _is_staff(request):
        raise Http404
    refusal = staff_refusal(request)
    if refusal is not None:
        raise refusal


def refuse_unverified_staff(request: HttpRequest) -> None:
    """For pages with their own answer to non-staff (the admin redirects to the login):
    only refuse staff whose session has not passed a second factor."""
    if _is_staff(request):
        refusal = staff_refusal(request)
        if refusal is not None:
            raise refusal


def staff_required(view: View) -> View:
    """Decorate a staff-only view with ``require_staff``; its answers are ``private,
    no-store``, as the console's are: a staff page (a report, a project's status, the
    issuers) must not stay in a shared cache or the browser's history cache."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require_staff(request)
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper
