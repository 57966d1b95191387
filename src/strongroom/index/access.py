"""The read-access check of every read URL: who reads (``packages.visibility.Reader``),
the 401 challenge installers answer with credentials, and the headers of private answers.

Every read view is wrapped in :func:`read_view`; ``tests/index/test_read_access.py`` walks
the URL conf so a read route without it fails. The decision itself is
``packages.visibility.can_read``; this module only speaks HTTP.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from strongroom.index.caching import PUBLIC_VARY
from strongroom.packages.models import Project
from strongroom.packages.visibility import (
    ANONYMOUS,
    Reader,
    can_read,
    is_publicly_readable,
    site_requires_authentication,
)
from strongroom.tokens.contexts import read_context
from strongroom.tokens.services import TokenError, verify_token
from strongroom.upload.auth import TOKEN_USERNAME, basic_credentials, bearer_token
from strongroom.web.http import client_ip

# Set on every view read_view wraps: the URL-conf test looks for it.
READ_ACCESS_CHECKED = "strongroom_read_access_checked"
REALM = 'Basic realm="Strongroom"'
PRIVATE_CACHE_CONTROL = "private, no-store"
_PRIVATE = "_strongroom_private_read"
_READER = "_strongroom_reader"


class CredentialNeeded(Exception):
    """Answer 401 with the Basic challenge; ``str(exc)`` says why."""


def reader_of(request: HttpRequest) -> Reader:
    """The reader the request proves: a token (HTTP Basic ``__token__`` or Bearer), else the
    signed-in session, else nobody. A credential that does not hold raises
    CredentialNeeded: a wrong or revoked token is never read as anonymous."""
    cached = getattr(request, _READER, None)
    if cached is not None:
        return cached
    reader = _resolve(request)
    setattr(request, _READER, reader)
    return reader


def _resolve(request: HttpRequest) -> Reader:
    if not request.META.get("HTTP_AUTHORIZATION", "").strip():
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return Reader(user=user)
        return ANONYMOUS
    raw = bearer_token(request)
    if raw is None:
        credentials = basic_credentials(request)
        if credentials is None or credentials[0] != TOKEN_USERNAME:
            raise CredentialNeeded(
                _("Use the username __token__ and a read token as the password.")
            )
        raw = credentials[1]
    try:
        verified = verify_token(raw, read_context(None), ip=client_ip(request))
    except TokenError as exc:
        raise CredentialNeeded(str(exc)) from None
    return Reader(user=verified.user, token=verified)


def challenge(message: str) -> HttpResponse:
    """401 with ``WWW-Authenticate: Basic realm="Strongroom"``: pip and uv then ask keyring
    or prompt; the reason is in the body."""
    response = HttpResponse(message + "\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = REALM
    return _make_private(response)


def mark_private(request: HttpRequest) -> None:
    """The answer to ``request`` depends on who asks: no shared cache may keep it."""
    setattr(request, _PRIVATE, True)


# What only a shared (CDN) answer carries: a private one must not tell a CDN to keep it
# (Surrogate-Control), name it for purges, or be readable from other origins.
_SHARED_ONLY_HEADERS = ("Surrogate-Control", "Surrogate-Key", "Access-Control-Allow-Origin")


def _make_private(response: HttpResponse) -> HttpResponse:
    if hasattr(response, PUBLIC_VARY):
        delattr(response, PUBLIC_VARY)
    for header in _SHARED_ONLY_HEADERS:
        if header in response:
            del response[header]
    response["Cache-Control"] = PRIVATE_CACHE_CONTROL
    patch_vary_headers(response, ("Authorization", "Cookie"))
    return response


def readable_project(request: HttpRequest, normalized_name: str) -> Project:
    """The project by normalised name, when the request's reader may read it; otherwise
    Http404, exactly as for a name no project has (nothing tells them apart)."""
    project = Project.objects.filter(normalized_name=normalized_name).first()
    if project is None:
        raise Http404
    if is_publicly_readable(project):
        return project
    if not can_read(reader_of(request), project):
        raise Http404
    if project.is_private:
        mark_private(request)
    return project


def read_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a read view: resolve the reader (401 for a credential that does not hold, and
    for anonymous readers of an ``authenticated`` site), then give private answers
    ``Cache-Control: private, no-store`` and ``Vary: Authorization, Cookie``."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        authenticated_site = site_requires_authentication()
        # Resolved now only where it decides the answer whatever the project: a credential
        # (401 when it does not hold) or an authenticated site. Otherwise the view asks
        # for the reader only when a private project needs it (no session query else).
        if authenticated_site or request.META.get("HTTP_AUTHORIZATION", "").strip():
            try:
                reader = reader_of(request)
            except CredentialNeeded as exc:
                return challenge(str(exc))
            if authenticated_site and reader.is_anonymous:
                return challenge(_("Sign in or use a read token (username __token__)."))
        response = view(request, *args, **kwargs)
        if authenticated_site or getattr(request, _PRIVATE, False):
            _make_private(response)
        return response

    setattr(wrapped, READ_ACCESS_CHECKED, True)
    return wrapped
