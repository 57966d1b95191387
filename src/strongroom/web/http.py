"""Small helpers about the HTTP request shared by every app."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


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
