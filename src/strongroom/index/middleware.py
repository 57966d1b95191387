"""Keep the read path's responses cacheable by a shared cache (CDN)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from strongroom.index import views
from strongroom.index.caching import PUBLIC_VARY


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


# A name already in canonical form (PEP 503): anything else goes to the view (redirect).
_CANONICAL_PROJECT = re.compile(r"/simple/([a-z0-9]+(?:-[a-z0-9]+)*)/")


class SimpleFastPathMiddleware:
    """Answer the hot read path before the session, locale, CSRF, auth and messages
    middleware run: ``/simple/``, and ``/simple/<name>/`` when a current pre-rendered
    page exists. Everything else (redirects, 404, 406, a page not yet stored) falls through
    to the full view, which gives the same answer more slowly.

    Listed right after the security-header middleware, so fast answers carry the same
    security headers. Only public pages are answered here: private projects, requests with
    credentials and every read of an ``authenticated`` site fall through to the views,
    which check read access (index.access).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.enabled = settings.READ_ACCESS == "public"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            self.enabled
            and request.method in ("GET", "HEAD")
            and not request.META.get("QUERY_STRING")
            # Credentials are verified by the view (401 when they do not hold).
            and not request.META.get("HTTP_AUTHORIZATION")
        ):
            path = request.path_info
            response = None
            if path == "/simple/":
                # A signed-in reader's index may list private projects: the view builds it.
                if settings.SESSION_COOKIE_NAME not in request.COOKIES:
                    response = views.public_index_page(request)
            elif match := _CANONICAL_PROJECT.fullmatch(path):
                response = views.stored_project_page(request, match[1])
            if response is not None:
                # CommonMiddleware, below, does not see this answer: its length, as it
                # would set it (the bare fast path gives the same header).
                if (
                    response.status_code == 200
                    and not response.streaming
                    and not response.has_header("Content-Length")
                ):
                    response["Content-Length"] = str(len(response.content))
                return response
        return self.get_response(request)
