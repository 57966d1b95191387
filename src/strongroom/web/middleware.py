"""Response hardening that Django's SecurityMiddleware does not cover."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """Adds a strict CSP, and the Secure flag on cookies whenever the request is HTTPS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "interest-cohort=()")
        if request.is_secure():
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class NulCharacterMiddleware:
    """Refuse, with 400, a request whose path, query string or cookies hold a NUL character.

    No name, version, identifier or session key contains one, and PostgreSQL cannot even
    compare text with one (``DataError``), so such a request could only turn a lookup into
    a server error. Refused before anything reads the database; forms refuse NULs in
    posted fields themselves (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            response = HttpResponseBadRequest(
                _("The request's address or cookies contain a NUL character."),
                content_type="text/plain; charset=utf-8",
            )
            response.reason_phrase = "NUL character in request"
            return response
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or "\x00" in request.META.get("HTTP_COOKIE", ""):
        return True
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return False
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )
