"""Who may open the console: staff with a second factor proved in this session.

Anyone else gets 404 (the console does not announce itself); staff without any second
factor are sent to enrol one (an account made by ``strongroom createadmin`` starts so);
staff whose session skipped the second factor get the page that says to log in again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from strongroom.mfa.services.queries import has_second_factor
from strongroom.mfa.staff import staff_refusal

View = Callable[..., HttpResponseBase]


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def console_view(view: View) -> View:
    """Guard a console page (GET and POST alike); ``private, no-store`` on the answer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not _is_staff(request):
            raise Http404
        if not has_second_factor(request.user):  # type: ignore[arg-type]
            messages.warning(
                request,
                _("Set up an authenticator app: the staff console needs a second factor."),
            )
            return HttpResponseRedirect(reverse("mfa:totp_provision"))
        refusal = staff_refusal(request)
        if refusal is not None:
            raise refusal
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper
