"""A private project's simple page on the bare-WSGI fast path, for a read token.

Installers send the token with every request, so this is the hot path of a private index.
The answer is the one the full view gives (``index.views.simple_project`` through
``index.access``): the same token rules as ``tokens.services.verify_token`` and the same
decision as ``packages.visibility.can_read`` (current rows: ``tokens.read_grant``, in the
one query that also reads the stored page), the same stored page. Any
case it does not answer itself (no token, a token that does not hold, no access, no current
page) returns None and Django answers, with the 401 or the 404 of an unknown name.

Each worker keeps the answers it gave in a memo of its own (:class:`PrivateMemo`, never the
public pages' memo), keyed by the token string (under the keys now accepted), the project
and the format, and holding the grant with the page. An entry is reused only while the
database version (``index.memo``: SQLite's ``data_version``) is the one read before the
query that filled it: nothing at all was written since, so no token was revoked or
re-scoped, no role, membership or account changed, no page was stored. Even then the grant
is checked again against the clock (``read_grant.recheck``: expiry, not-before) and "last
used" is recorded. Any write, anywhere, sends the next request to the query again. Without
a version (PostgreSQL, an in-memory database, no memo) every request queries.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from django.conf import settings
from django.utils import timezone

from strongroom.index import negotiation, prerender, views
from strongroom.index.memo import Answer, PageMemo
from strongroom.packages.models import Project
from strongroom.tokens.read_grant import Grant, grant_key, read_with, recheck


@dataclasses.dataclass(frozen=True, slots=True)
class Kept:
    """An answer given for a grant, and the database version read before both were."""

    grant: Grant
    answer: Answer
    version: int

    @property
    def body(self) -> bytes:
        return self.answer.body


# (token string's grant key, normalised project name, media type)
PrivateMemo = PageMemo[tuple[bytes, str, str], Kept]


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


def answer(
    environ: dict[str, Any],
    normalized: str,
    media: str,
    *,
    memo: PrivateMemo | None = None,
    version: int | None = None,
) -> Answer | None:
    """The page of private project ``normalized`` for the request's read token, or None.

    ``version``: the database version read before anything else for this request (None:
    no proof that nothing was written, so ``memo`` is neither read nor filled)."""
    raw = _token(environ)
    if raw is None:
        return None
    now, ip = timezone.now(), _client_ip(environ)
    key = None
    if memo is not None and version is not None:
        key = (grant_key(raw), normalized, media)
        kept = memo.get(key)
        if kept is not None and kept.version == version:
            # Nothing written since the query: its rows are the current rows.
            return kept.answer if recheck(kept.grant, now=now, ip=ip) else None
    # One query: the token's row and the reader's rights (tokens.read_grant) with the page.
    grant = read_with(
        raw,
        normalized,
        columns=prerender.page_columns(json=media == negotiation.JSON),
        join=prerender.PAGE_JOIN,
        now=now,
        ip=ip,
    )
    page = prerender.page_of_row(grant.extra, private=True) if grant is not None else None
    if grant is None or page is None or page.visibility != Project.Visibility.PRIVATE:
        # Django answers: the 401 with the reason, the 404 without access, or a public
        # project's page for a credential it then verifies.
        return None
    etag = views.project_etag(page.project_id, page.serial, media)
    found = Answer(etag, page.last_modified, views.content_type(media), page.body, None)
    if key is not None and memo is not None and version is not None:
        # The page is kept once, in the answer.
        memo.put(key, Kept(dataclasses.replace(grant, extra=()), found, version))
    return found
