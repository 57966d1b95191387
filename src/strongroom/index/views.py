"""The read path: simple API, JSON API and downloads. Few queries, cheap ETags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion

from strongroom.index import negotiation, pages
from strongroom.index.downloads import file_response
from strongroom.index.middleware import mark_public
from strongroom.index.pypi_json import project_document
from strongroom.packages.models import Project, Release
from strongroom.packages.services import index_state
from strongroom.storage import get_storage
from strongroom.storage.base import is_safe_path

_SHORT = {negotiation.JSON: "j", negotiation.HTML_V1: "v", negotiation.HTML: "h"}


def _cache_headers(response: HttpResponse, etag: str, changed: datetime | None) -> HttpResponse:
    response["ETag"] = etag
    if changed is not None:
        response["Last-Modified"] = http_date(changed.timestamp())
    response["Cache-Control"] = f"public, max-age={settings.INDEX_CACHE_SECONDS}"
    return mark_public(response, "Accept")


def _not_modified(request: HttpRequest, etag: str, changed: datetime | None) -> bool:
    none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if none_match is not None:
        return etag in parse_etags(none_match) or none_match.strip() == "*"
    since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
    return since is not None and changed is not None and int(changed.timestamp()) <= since


def _negotiate(request: HttpRequest) -> str | None:
    return negotiation.choose(request.META.get("HTTP_ACCEPT"), request.GET.get("format"))


def _not_acceptable() -> HttpResponse:
    offered = ", ".join(negotiation.PREFERENCE)
    response = HttpResponse(
        _("Not acceptable. This index offers: %(types)s") % {"types": offered} + "\n",
        status=406,
        content_type="text/plain; charset=utf-8",
    )
    response["Vary"] = "Accept"
    return response


def _answer(
    request: HttpRequest,
    media: str,
    key: str,
    changed: datetime | None,
    build: Callable[[], str],
) -> HttpResponse:
    """A 304, or the page for ``key`` from the cache, else built and cached."""
    etag = f'"{key}"'
    if _not_modified(request, etag, changed):
        return _cache_headers(HttpResponse(status=304), etag, changed)
    # Keys carry the serial, so a page is never stale: every node builds the same key
    # from the database, and a new upload makes a new key (shared through Redis).
    body = cache.get(f"simple:{key}")
    if body is None:
        body = build()
        cache.set(f"simple:{key}", body, 3600)
    content_type = media if media == negotiation.JSON else f"{media}; charset=utf-8"
    return _cache_headers(HttpResponse(body, content_type=content_type), etag, changed)


@require_safe
def simple_index(request: HttpRequest) -> HttpResponse:
    media = _negotiate(request)
    if media is None:
        return _not_acceptable()
    serial, changed = index_state()

    def build() -> str:
        names = list(Project.objects.values_list("name", "normalized_name"))
        if media == negotiation.JSON:
            return pages.simple_index_json(names, serial)
        return pages.simple_index_html(names)

    return _answer(request, media, f"i{serial}{_SHORT[media]}", changed, build)


@require_safe
def simple_project(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        query = request.META.get("QUERY_STRING", "")
        return HttpResponseRedirect(f"/simple/{normalized}/" + (f"?{query}" if query else ""))
    media = _negotiate(request)
    if media is None:
        return _not_acceptable()
    project = Project.objects.filter(normalized_name=normalized).first()
    if project is None:
        raise Http404

    def build() -> str:
        files = pages.project_files(project)
        if media == negotiation.JSON:
            return pages.simple_project_json(project, files, pages.project_versions(project))
        return pages.simple_project_html(project, files)

    key = f"p{project.pk}-{project.last_serial}{_SHORT[media]}"
    return _answer(request, media, key, project.last_changed, build)


def _absolute(request: HttpRequest) -> Callable[[str], str]:
    if settings.BASE_URL:
        return lambda path: settings.BASE_URL + path
    return request.build_absolute_uri


@require_safe
def project_json(request: HttpRequest, name: str, version: str | None = None) -> HttpResponse:
    normalized = canonicalize_name(name)
    project = Project.objects.filter(normalized_name=normalized).first()
    if project is None:
        raise Http404
    if normalized != name:
        suffix = f"{version}/json" if version else "json"
        return HttpResponseRedirect(f"/pypi/{normalized}/{suffix}")
    release = None
    if version is not None:
        try:
            canonical = canonicalize_version(version, strip_trailing_zero=True)
        except InvalidVersion:
            raise Http404 from None
        release = Release.objects.filter(project=project, canonical_version=canonical).first()
        if release is None:
            raise Http404
    etag = f'"j{project.pk}-{project.last_serial}-{release.pk if release else ""}"'
    if _not_modified(request, etag, project.last_changed):
        return _cache_headers(HttpResponse(status=304), etag, project.last_changed)
    document = project_document(project, release, _absolute(request), get_storage().url)
    if document is None:
        raise Http404
    response = JsonResponse(document, json_dumps_params={"separators": (",", ":")})
    return _cache_headers(response, etag, project.last_changed)


@require_safe
def download(request: HttpRequest, path: str) -> HttpResponse:
    """``/packages/ab/cd/<sha256>/<filename>`` and its ``.metadata``; no database query."""
    full = f"packages/{path}"
    parts = path.split("/")
    if not is_safe_path(full) or len(parts) != 4 or len(parts[2]) != 64:
        raise Http404
    storage = get_storage()
    target = storage.redirect_url(full)
    if target is not None:
        # Presigned URLs expire, so the redirect may be reused only for part of their life.
        ttl = settings.PRESIGNED_URL_SECONDS // 2 if settings.DOWNLOADS == "presigned" else 86400
        response = HttpResponseRedirect(target)
        response["Cache-Control"] = f"public, max-age={ttl}"
        return mark_public(response)
    try:
        handle, size = storage.open_sized(full)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        raise Http404 from None
    # Content-addressed and immutable: the digest in the path is a strong validator.
    etag = f'"{parts[2]}{"-m" if full.endswith(".metadata") else ""}"'
    return mark_public(file_response(request, handle, size, etag, full))
