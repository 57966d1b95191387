"""Proxied answers: ``/simple/<name>/`` and ``/pypi/<name>/json`` for names with no local
project (index.views calls in), and ``/upstream/files/<sha256>/<filename>``."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from packaging.utils import canonicalize_name
from packaging.version import Version

from strongroom.index import negotiation
from strongroom.index.caching import etag_matches, mark_public, project_key
from strongroom.index.downloads import content_type_for, file_response
from strongroom.ops.metrics import PROXY_CACHE
from strongroom.proxy import cache, fast, fetch, provenance, upstream
from strongroom.proxy import render as pages
from strongroom.proxy.models import CachedFile, UpstreamPage
from strongroom.proxy.names import may_proxy
from strongroom.storage import get_storage
from strongroom.web.http import absolute_url


def enabled() -> bool:
    return upstream.config().enabled


def unavailable(reason: str) -> HttpResponse:
    """The 503 for an upstream that failed with nothing cached."""
    message = _("The upstream index %(upstream)s is unavailable (%(reason)s). Try again later.")
    response = HttpResponse(
        message % {"upstream": upstream.describe(), "reason": reason} + "\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "30"
    response["Cache-Control"] = "no-store"
    return response


def _lookup(normalized: str) -> UpstreamPage | HttpResponse | None:
    if not may_proxy(normalized):
        return None
    page = cache.get_page(normalized)
    if isinstance(page, cache.Unavailable):
        return unavailable(page.reason)
    return page


def simple_page(request: HttpRequest, normalized: str, media: str) -> HttpResponse | None:
    """The proxied simple page, a 503, or None (not proxied: the caller's 404)."""
    cached = fast.cached_answer(normalized, media)
    if cached is not None:
        etag, body, _expires = cached
    else:
        page = _lookup(normalized)
        if page is None or isinstance(page, HttpResponse):
            return page
        etag, body = fast.render_page(page, media)
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponse(status=304)
    else:
        content_type = media if media == negotiation.JSON else f"{media}; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
    return _public(response, normalized, etag)


def _public(response: HttpResponse, normalized: str, etag: str = "") -> HttpResponse:
    """Cacheable by anyone for a short while only: an upstream page changes without this
    index being told (a CDN keeps it no longer than a browser). Under the project's
    surrogate key, so the purge made when a local project takes the name drops it."""
    if etag:
        response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={min(settings.INDEX_CACHE_SECONDS, 60)}"
    response["Surrogate-Key"] = project_key(normalized)
    response["X-Strongroom-Upstream"] = upstream.describe()
    return mark_public(response, "Accept")


def json_api(normalized: str, version: str | None) -> HttpResponse | None:
    """The proxied ``/pypi/<name>/json`` document, a 503, or None (not proxied)."""
    page = _lookup(normalized)
    if page is None or isinstance(page, HttpResponse):
        return page
    document = pages.json_api(page, pages.offered_files(page, timezone.now()), absolute_url,
                              version)  # fmt: skip
    if document is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    return _public(JsonResponse(document, json_dumps_params={"separators": (",", ":")}), normalized)


def _from_storage(request: HttpRequest, row: CachedFile) -> HttpResponse | None:
    try:
        handle, size = get_storage().open_sized(row.storage_path)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        CachedFile.objects.filter(pk=row.pk).update(stored=False)
        return None
    CachedFile.objects.filter(pk=row.pk).update(last_used=timezone.now())
    etag = f'"{row.sha256}{"-m" if row.is_metadata else ""}"'
    return file_response(request, handle, size, etag, row.storage_path)


def _offered(row: CachedFile) -> bool:
    """Whether the file is still on the proxied page (name not locked since, not hidden
    by the cooldown, project not quarantined)."""
    if not may_proxy(row.normalized_name):
        return False
    page = UpstreamPage.objects.filter(normalized_name=row.normalized_name).first()
    if page is None:
        return row.stored
    return any(f["sha256"] == row.sha256 for f in pages.offered_files(page, timezone.now()))


def upstream_provenance(
    normalized: str, version: str, filename: str
) -> tuple[bool, dict[str, Any] | None]:
    """For the Integrity API, a name with no local project: whether an offered upstream
    file of that name exists, and its verified PEP 740 provenance (None when there is
    none, or it failed verification: upstream's own is never served unverified)."""
    if not enabled() or not may_proxy(normalized):
        return False, None
    row = CachedFile.objects.filter(
        normalized_name=normalized, filename=filename, is_metadata=False
    ).first()
    if row is None or not _offered(row) or pages.file_version(filename) == "":
        return False, None
    return True, provenance.verified_provenance(normalized, version, filename)


@require_safe
def download(request: HttpRequest, sha256: str, filename: str) -> HttpResponse:
    """An upstream file (or its ``.metadata``): from the storage, else fetched now."""
    if not enabled():
        raise Http404
    is_metadata = filename.endswith(".metadata")
    base = filename.removesuffix(".metadata") if is_metadata else filename
    row = CachedFile.objects.filter(sha256=sha256, is_metadata=is_metadata, filename=base).first()
    if row is None or not _offered(row):
        raise Http404
    if row.stored:
        response = _from_storage(request, row)
        if response is not None:
            PROXY_CACHE.labels("file_hit").inc()
            # A provenance named since the file was kept, or not fetched for now.
            provenance.check_provenance(row)
            return response
    PROXY_CACHE.labels("file_miss").inc()
    deadline = time.monotonic() + max(upstream.config().timeout * 3, 30)
    while not fetch.take_lease(row):
        if fetch.wait_for_other_fetch(row, deadline):
            row.refresh_from_db()
            response = _from_storage(request, row)
            if response is not None:
                return response
        if time.monotonic() >= deadline:
            return unavailable(_("another download of this file is still in progress"))
    try:
        running = fetch.Fetch(row)
        running.open()
    except upstream.UpstreamError as exc:
        return unavailable(str(exc))
    if is_metadata:
        # Small: read it all, so a mismatch or a break is a clean 503, never a cut body.
        try:
            body = b"".join(running.chunks())
        except fetch.FileRefused:
            return unavailable(_("the upstream's file did not match its listed sha256"))
        except upstream.UpstreamError as exc:
            return unavailable(str(exc))
        return HttpResponse(body, content_type=content_type_for(filename))
    streamed = StreamingHttpResponse(running.chunks(), content_type=content_type_for(filename))
    if running.size is not None:
        streamed["Content-Length"] = str(running.size)
    streamed["ETag"] = f'"{row.sha256}"'
    streamed["Cache-Control"] = "no-store"
    return streamed  # type: ignore[return-value]


@require_safe
def project_page(request: HttpRequest, name: str) -> HttpResponse:
    """The web page of a proxied project, marked as coming from upstream."""
    normalized = canonicalize_name(name)
    if not enabled():
        raise Http404
    page = _lookup(normalized)
    if page is None:
        raise Http404
    if isinstance(page, HttpResponse):
        return page
    offered = pages.offered_files(page, timezone.now())
    attested = provenance.verified_digests(normalized)
    failed = provenance.failed_digests(normalized)
    files = [
        {**entry, "attested": entry["sha256"] in attested,
         "provenance_failed": entry["sha256"] in failed}
        for entry in offered
    ]  # fmt: skip
    found = {v for f in files if (v := pages.file_version(f["filename"]))}
    versions = sorted(found, key=Version, reverse=True)
    context = {"page": page, "files": files, "versions": versions, "upstream": upstream.describe()}
    return render(request, "proxy/project.html", context)
