"""The hot read path as a bare WSGI callable in front of Django's WSGIHandler.

``GET``/``HEAD`` of ``/simple/`` and ``/simple/<canonical name>/`` (no query string, plain
HTTP) are answered here with one indexed query on the thread's own database connection:
no WSGIRequest, no signals, no middleware chain, no HttpResponse. The answer is the one
Django's SimpleFastPathMiddleware gives (same functions from index.views, same
negotiation, same ETag and 304 rules, same headers: tests/index/test_fastwsgi.py compares
both). Everything else, including every case the fast path cannot answer (406, redirect,
404, a page not yet stored, HTTPS, SSL redirect, a database error, a host name the index
does not answer for), goes to Django; so does every read that access decides: a private
project (``prerender.lookup`` never gives its page to the memo), a request carrying
credentials (except a read token for a private page, answered by index.private_fast
with the same checks, from a memo of its own), a signed-in reader's ``/simple/``, and
every read of an ``authenticated`` site.

Each worker keeps the pages it served in memory and proves them current before reusing
one (index.memo): on SQLite without a query while nothing was written, otherwise by the
ETag read without the page.

The database connection is Django's per-thread one, kept open across requests (Django's
request signals never run here); it is in autocommit mode, so every request reads the
latest committed page. A failing query closes it and lets Django answer.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from strongroom.index import caching, encoding, negotiation, private_fast, views
from strongroom.index.access import PRIVATE_CACHE_CONTROL
from strongroom.index.memo import Answer, PageMemo, version_probe
from strongroom.index.middleware import _CANONICAL_PROJECT
from strongroom.proxy import fast as proxy_fast
from strongroom.web.hosts import HostCheck
from strongroom.web.middleware import CONTENT_SECURITY_POLICY

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_STATUS = {200: "200 OK", 304: "304 Not Modified"}


def security_headers() -> list[tuple[str, str]]:
    """What SecurityMiddleware and SecurityHeadersMiddleware add to a plain-HTTP answer."""
    headers: list[tuple[str, str]] = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
    headers.append(("Permissions-Policy", "interest-cohort=()"))
    return headers


@functools.lru_cache(maxsize=512)
def _choose(accept: str | None) -> str | None:
    # Clients send few distinct Accept headers (pip, uv, browsers); parse each once.
    return negotiation.choose(accept)


class SimpleFastPath:
    def __init__(self, django_app: WSGIApp):
        self.django_app = django_app
        # Read once, as Django's middleware reads its settings once.
        # An authenticated site answers no one without credentials: Django decides.
        self.enabled = (
            not settings.SECURE_SSL_REDIRECT
            and not settings.FORCE_SCRIPT_NAME
            and settings.READ_ACCESS == "public"
        )
        self.session_cookie = settings.SESSION_COOKIE_NAME + "="
        proxy = settings.SECURE_PROXY_SSL_HEADER
        self.proxy_header = proxy[0] if proxy else None
        self.security = security_headers()
        # Cache-Control, Surrogate-Control, CORS: the same for every page (keys come last).
        self.cdn = caching.cdn_headers()
        uncached = dict(caching.UNCACHED)
        self.cdn_previous = caching.cdn_headers(
            cache=uncached["Cache-Control"], surrogate=uncached["Surrogate-Control"]
        )
        told = settings.PURGE_BACKEND.strip().lower() not in ("", "none")
        self.proxy_fast_path = settings.UPSTREAM.enabled and not told
        self.default_type = f"text/html; charset={settings.DEFAULT_CHARSET}"
        memo_bytes = settings.INDEX_MEMO_MB * 2**20
        self.memo: PageMemo[tuple[str, str, str | None], Answer] | None = (
            PageMemo(memo_bytes) if memo_bytes else None
        )
        # Private pages in a memo of their own, by token string and project (private_fast).
        self.private: private_fast.PrivateMemo | None = (
            private_fast.PrivateMemo(memo_bytes) if memo_bytes else None
        )
        self.probe = version_probe() if self.memo is not None else None
        # A request for an unknown host goes to Django, which refuses it (web.hosts).
        self.hosts = HostCheck(settings.ALLOWED_HOSTS)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.enabled:
            answer = self._answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(_STATUS[status], headers)
                return [body]
        return self.django_app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
        if (
            environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or environ.get("QUERY_STRING")
            or environ.get("SCRIPT_NAME")
            or environ.get("wsgi.url_scheme") != "http"
            or (self.proxy_header is not None and self.proxy_header in environ)
            or not self.hosts.allows(environ)
        ):
            return None
        path = environ.get("PATH_INFO", "")
        credential = bool(environ.get("HTTP_AUTHORIZATION"))
        if path == "/simple/":
            # A signed-in reader's index may list private projects, and a credential is
            # verified by Django (401 when it does not hold).
            if credential or self.session_cookie in environ.get("HTTP_COOKIE", ""):
                return None
        elif _CANONICAL_PROJECT.fullmatch(path) is None:
            return None
        media = _choose(environ.get("HTTP_ACCEPT"))
        if media is None:
            return None
        coding = encoding.choose(environ.get("HTTP_ACCEPT_ENCODING"))
        try:
            if credential:
                # A read token for a private project's page (index.private_fast), in its
                # own memo, never compressed; anything else with a credential goes to
                # Django. The version is read before any query, as for the public memo.
                version = self.probe() if self.probe is not None else None
                answer = private_fast.answer(
                    environ, path[8:-1], media, memo=self.private, version=version
                )
            else:
                answer = self._current(path, media, coding)
        except DatabaseError as exc:
            # A dropped or broken connection: start afresh and let Django answer this
            # request (a 503 while the database is away). An outage is no bug: one line,
            # no traceback.
            logger.warning("simple fast path: database error (%s); falling back", exc)
            connection.close()
            return None
        if answer is None:
            return None
        headers = [("Content-Type", answer.content_type), ("ETag", answer.etag)]
        if answer.last_modified is not None:
            headers.append(("Last-Modified", answer.last_modified))
        if credential:
            headers.append(("Cache-Control", PRIVATE_CACHE_CONTROL))
            headers.append(("Vary", "Accept, Authorization, Cookie"))
        else:
            headers.append(("Vary", views.PAGE_VARY))
            headers.extend(self.cdn_previous if answer.previous else self.cdn)
            headers.append(("Surrogate-Key", answer.keys))
        headers.extend(self.security)
        if views.not_modified(
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MODIFIED_SINCE"),
            answer.etag,
            answer.last_modified,
        ):
            headers[0] = ("Content-Type", self.default_type)
            return 304, headers, b""
        if answer.coding is not None:
            headers.append(("Content-Encoding", answer.coding))
        # As CommonMiddleware gives Django's answers: a cache or client knows the end of
        # the body without chunked framing, and a HEAD shows the GET's length.
        headers.append(("Content-Length", str(len(answer.body))))
        return 200, headers, answer.body

    def _current(self, path: str, media: str, coding: str | None) -> Answer | None:
        """The current answer for ``path`` in ``media`` and ``coding`` (see index.memo),
        or None."""
        memo = self.memo
        if memo is None:
            return self._read(path, media, coding, None)
        # Read before any query: an entry must never carry a version newer than its content.
        version = self.probe() if self.probe is not None else None
        key = (path, media, coding)
        answer = memo.get(key)
        if answer is not None:
            if (
                version is not None
                and answer.version == version
                and (answer.expires is None or time.monotonic() < answer.expires)
            ):
                return answer  # nothing was written anywhere since it was read
            if views.current_etag(path, media, answer.coding) == answer.etag:
                if version is not None:
                    answer = dataclasses.replace(answer, version=version)
                    memo.put(key, answer)
                return answer
        answer = self._read(path, media, coding, version)
        if answer is not None and not answer.previous:
            # Not a previous /simple/ served while this process fetches the stored one
            # (index.root): the fetch writes nothing that would move ``version``.
            memo.put(key, answer)
        return answer

    def _proxied(self, normalized: str, media: str, version: int | None) -> Answer | None:
        """A cached upstream page for a name with no local project (proxy.fast), only while
        no CDN is told to keep pages long (nothing purges it when the upstream changes).
        It carries its expiry, so the memo above reads it again once the page is past
        its max age (or its next cooldown step) even when nothing was written."""
        if not self.proxy_fast_path:
            return None
        found = proxy_fast.cached_answer(normalized, media, version)
        if found is None:
            return None
        etag, body, expires = found
        return Answer(etag, None, views.content_type(media), body, version, None,
                      caching.project_key(normalized), expires)  # fmt: skip

    def _read(
        self, path: str, media: str, coding: str | None, version: int | None
    ) -> Answer | None:
        found = (
            views.index_answer(media, coding)
            if path == "/simple/"
            else views.stored_answer(path[8:-1], media, coding)
        )
        if found is None:
            return None if path == "/simple/" else self._proxied(path[8:-1], media, version)
        return Answer(
            found.etag,
            found.last_modified,
            views.content_type(media),
            found.body,
            version,
            found.coding,
            " ".join(found.keys),
            previous=found.previous,
        )
