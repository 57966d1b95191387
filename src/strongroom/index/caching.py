"""Marking a response as the same for everyone, so a shared cache (CDN) may keep it, and
the headers that tell a CDN how long and under which surrogate keys.

The mark is read by ``index.middleware.PublicCacheMiddleware``; views set it. Kept apart
from the middleware so views need not import the module that imports them.

Surrogate keys name what a response shows, so one purge (``index.purge``) drops every
cached response of a project, whatever its URL, format or encoding:

* ``project-<normalized name>``: its simple pages, its JSON API documents, its files;
* ``file-<sha256>``: one file (and its ``.metadata``);
* ``simple-index``: ``/simple/`` (which lists every project and the index serial).
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import parse_etags

PUBLIC_VARY = "public_vary"
INDEX_KEY = "simple-index"


def mark_public(response: HttpResponse, vary: str = "") -> HttpResponse:
    """Declare that ``response`` depends only on the URL and the ``vary`` headers."""
    setattr(response, PUBLIC_VARY, vary)
    return response


def project_key(normalized_name: str) -> str:
    """The key of a project's responses. A name the URL asked for may hold anything (a
    control character would make the header unsendable): it is percent-encoded; real
    project names (letters, digits, ``-``, ``.``, ``_``) are left as they are."""
    return f"project-{quote(normalized_name, safe='-._')}"


def file_key(sha256: str) -> str:
    return f"file-{sha256}"


def cache_control() -> str:
    """For browsers and caches that are not told of changes: a short lifetime."""
    return f"public, max-age={settings.INDEX_CACHE_SECONDS}"


def surrogate_control() -> str:
    """For the CDN, which is told of every change (when a purge backend is configured)
    and so may keep pages long; Fastly and the VCL in docs/ read it and strip it."""
    told = settings.PURGE_BACKEND.strip().lower() not in ("", "none")
    lifetime = settings.CDN_CACHE_SECONDS if told else settings.INDEX_CACHE_SECONDS
    return (
        f"max-age={lifetime}, stale-while-revalidate={settings.CDN_STALE_SECONDS}, "
        f"stale-if-error={settings.CDN_STALE_IF_ERROR_SECONDS}"
    )


# An answer no cache may keep without asking again (``/simple/`` served from a previous
# root while the stored one is fetched: index.root).
UNCACHED = (("Cache-Control", "no-cache"), ("Surrogate-Control", "max-age=0"))


def cdn_headers(
    *keys: str, cache: str | None = None, surrogate: str | None = None
) -> list[tuple[str, str]]:
    """The headers of a public read-path answer: lifetimes, surrogate keys and CORS (the
    public JSON APIs are readable from any web page, as PyPI's are; no credentials are
    ever allowed cross-origin)."""
    headers = [
        ("Cache-Control", cache or cache_control()),
        ("Surrogate-Control", surrogate or surrogate_control()),
        ("Access-Control-Allow-Origin", "*"),
    ]
    if keys:
        headers.append(("Surrogate-Key", " ".join(keys)))
    return headers


def add_cdn_headers(response: HttpResponse, *keys: str, cache: str | None = None) -> None:
    for name, value in cdn_headers(*keys, cache=cache):
        response[name] = value


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``, as
    proxies that recompress (or only revalidate) send it."""
    if none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in parse_etags(none_match))
