"""The re-authentication guard for sensitive actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from strongroom.accounts.services import needs_reauthentication

View = Callable[..., HttpResponse]


def reauthentication_redirect(request: HttpRequest) -> HttpResponse | None:
    """The redirect to the password prompt when the last proof is older than
    REAUTH_MAX_AGE, else None (for a view whose GET needs no recent password but whose
    POST does).

    A GET is sent back to the same page afterwards; a POST, whose form cannot be
    replayed safely, is sent back to the page it came from.
    """
    if not needs_reauthentication(request):
        return None
    target = request.get_full_path()
    if request.method != "GET":
        referer = request.META.get("HTTP_REFERER", "")
        allowed = url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        target = referer if referer and allowed else reverse("accounts:manage")
    query = urlencode({"next": target})
    return HttpResponseRedirect(f"{reverse('accounts:reauthenticate')}?{query}")


def reauthentication_required(view: View) -> View:
    """Ask for the password again when the last proof is older than REAUTH_MAX_AGE
    (``reauthentication_redirect``)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        redirect = reauthentication_redirect(request)
        if redirect is not None:
            return redirect
        return view(request, *args, **kwargs)

    return wrapper
