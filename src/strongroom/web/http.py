"""Small helpers about the HTTP request shared by every app."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

View = TypeVar("View", bound=Callable[..., HttpResponse])


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting ``TRUSTED_PROXY_COUNT`` hops of X-Forwarded-For."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR", "") or "0.0.0.0")  # noqa: S104


def user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:512]


def wants_html(request: HttpRequest) -> bool:
    """True for browsers; False for API clients that should get plain statuses."""
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


def absolute_url(path: str) -> str:
    """An absolute link on the configured base URL (``settings.BASE_URL``).

    Every absolute link (emails, the JSON API, API error messages) is built here, and
    never from the request's ``Host``, which the client chooses (see web.hosts).
    """
    return settings.BASE_URL + path


def keep_out_of_caches(response: HttpResponse) -> HttpResponse:
    """Mark ``response`` ``Cache-Control: no-store``: no shared cache, browser cache or
    back-button history keeps a copy of it."""
    response["Cache-Control"] = "no-store"
    return response


def shows_secret(view: View) -> View:
    """For every page that shows a secret (a new API token, a TOTP key and its QR code,
    recovery codes, a page at a link carrying a one-time token): each of its answers,
    whatever the outcome, is ``no-store``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return keep_out_of_caches(view(request, *args, **kwargs))

    wrapper.shows_secret = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
