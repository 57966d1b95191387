"""Keep the read path's responses cacheable by a shared cache (CDN)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PUBLIC_VARY = "public_vary"


def mark_public(response: HttpResponse, vary: str = "") -> HttpResponse:
    """Declare that ``response`` depends only on the URL and the ``vary`` headers."""
    setattr(response, PUBLIC_VARY, vary)
    return response


class PublicCacheMiddleware:
    """Undo the Vary: Cookie / Accept-Language that session and locale middleware add
    to every response, for responses that are the same for everyone.

    Listed first in MIDDLEWARE so it sees the response last.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        vary = getattr(response, PUBLIC_VARY, None)
        if vary is not None:
            if vary:
                response["Vary"] = vary
            elif "Vary" in response:
                del response["Vary"]
            response.cookies.clear()
        return response
