"""A private project's simple page on the bare-WSGI fast path, for a read token.

Installers send the token with every request, so this is the hot path of a private index.
The answer is the one the full view gives (``index.views.simple_project`` through
``index.access``): the same token rules as ``tokens.services.verify_token`` and the same
decision as ``packages.visibility.can_read`` (current rows: ``tokens.read_grant``, in the
one query that also reads the stored page), the same stored page. Any
case it does not answer itself (no token, a token that does not hold, no access, no current
page) returns None and Django answers, with the 401 or the 404 of an unknown name. Never
memoised: the worker's memo holds public pages only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.utils import timezone

from strongroom.index import negotiation, prerender, views
from strongroom.index.memo import Answer
from strongroom.packages.models import Project
from strongroom.tokens.read_grant import read_with


def _token(environ: dict[str, Any]) -> str | None:
    scheme, _sep, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return password if sep and username == "__token__" else None


def _client_ip(environ: dict[str, Any]) -> str:
    # web.http.client_ip, on the WSGI environ.
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in environ.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return str(environ.get("REMOTE_ADDR", "") or "0.0.0.0")  # noqa: S104


def answer(environ: dict[str, Any], normalized: str, media: str) -> Answer | None:
    """The page of private project ``normalized`` for the request's read token, or None."""
    raw = _token(environ)
    if raw is None:
        return None
    # One query: the token's row and the reader's rights (tokens.read_grant) with the page.
    row = read_with(
        raw,
        normalized,
        columns=prerender.page_columns(json=media == negotiation.JSON),
        join=prerender.PAGE_JOIN,
        now=timezone.now(),
        ip=_client_ip(environ),
    )
    page = prerender.page_of_row(row, private=True) if row is not None else None
    if page is None or page.visibility != Project.Visibility.PRIVATE:
        # Django answers: the 401 with the reason, the 404 without access, or a public
        # project's page for a credential it then verifies.
        return None
    etag = views.project_etag(page.project_id, page.serial, media)
    return Answer(etag, page.last_modified, views.content_type(media), page.body, None)
