"""A recovered account sets up a new second factor before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from strongroom.console.recovery import needs_new_factor

# What a recovered account may still reach: setting up a factor, and logging out.
_ALLOWED = ("/manage/account/totp-provision", "/manage/account/webauthn-provision",
            "/manage/account/recovery-codes/", "/account/logout", "/static/")  # fmt: skip


class RecoveryEnrolmentMiddleware:
    """After an approved recovery, every page of a signed-in session leads to the
    authenticator setup until the account has a second factor again (one indexed query
    per signed-in request; the public read path is answered before sessions)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_ALLOWED)
            and needs_new_factor(user)
        ):
            return HttpResponseRedirect(reverse("mfa:totp_provision"))
        return self.get_response(request)
