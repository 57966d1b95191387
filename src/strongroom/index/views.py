"""The read path: simple API, JSON API and downloads. Few queries, cheap ETags."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

from strongroom.index import counting, negotiation, pages, prerender
from strongroom.index.access import mark_private, read_view, readable_project, reader_of
from strongroom.index.caching import mark_public
from strongroom.index.downloads import file_response
from strongroom.index.pypi_json import project_document
from strongroom.packages.models import File, Release
from strongroom.packages.versions import canonical_version
from strongroom.packages.visibility import can_read, is_publicly_readable, readable_projects
from strongroom.storage import get_storage
from strongroom.storage.base import is_safe_path
from strongroom.web.http import absolute_url

_SHORT = {negotiation.JSON: "j", negotiation.HTML_V1: "v", negotiation.HTML: "h"}


def _http_date(changed: datetime | None) -> str | None:
    return http_date(changed.timestamp()) if changed is not None else None


def _cache_headers(response: HttpResponse, etag: str, last_modified: str | None) -> HttpResponse:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = last_modified
    response["Cache-Control"] = cache_control()
    return mark_public(response, "Accept")


def _not_modified(request: HttpRequest, etag: str, last_modified: str | None) -> bool:
    return not_modified(
        request.META.get("HTTP_IF_NONE_MATCH"),
        request.META.get("HTTP_IF_MODIFIED_SINCE"),
        etag,
        last_modified,
    )


def not_modified(
    none_match: str | None, since_header: str | None, etag: str, last_modified: str | None
) -> bool:
    """Whether the conditional request headers let the client keep its copy (304)."""
    if none_match is not None:
        return etag in parse_etags(none_match) or none_match.strip() == "*"
    if not since_header or not last_modified:
        return False
    since = parse_http_date_safe(since_header)
    changed = parse_http_date_safe(last_modified)
    return since is not None and changed is not None and changed <= since


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


def _page_response(
    request: HttpRequest, media: str, etag: str, last_modified: str | None, body: bytes | str
) -> HttpResponse:
    if _not_modified(request, etag, last_modified):
        return _cache_headers(HttpResponse(status=304), etag, last_modified)
    response = HttpResponse(body, content_type=content_type(media))
    return _cache_headers(response, etag, last_modified)


def content_type(media: str) -> str:
    return media if media == negotiation.JSON else f"{media}; charset=utf-8"


def cache_control() -> str:
    return f"public, max-age={settings.INDEX_CACHE_SECONDS}"


def _index_key(serial: int, media: str) -> str:
    return f"i{serial}{_SHORT[media]}"


def index_page(request: HttpRequest) -> HttpResponse | None:
    """``/simple/``, or None when no acceptable format is offered.

    Built once per index serial and kept in the cache under a key holding that serial
    (read from the database on every request), so a cached page is never stale, whichever
    process put it there.
    """
    media = _negotiate(request)
    if media is None:
        return None
    reader = reader_of(request)
    if not reader.is_anonymous:
        return _page_response(request, media, *_reader_index_answer(request, media))
    return _page_response(request, media, *index_answer(media))


def public_index_page(request: HttpRequest) -> HttpResponse | None:
    """``/simple/`` as anonymous readers see it (the fast path: no reader resolved)."""
    media = _negotiate(request)
    if media is None:
        return None
    return _page_response(request, media, *index_answer(media))


def _reader_index_answer(request: HttpRequest, media: str) -> tuple[str, str | None, str]:
    """``/simple/`` as a signed-in reader or token holder sees it: public projects and the
    private ones they may read, built for them alone (never cached, never shared)."""
    reader = reader_of(request)
    mark_private(request)
    serial, changed = _index_state()
    names = list(readable_projects(reader).values_list("name", "normalized_name"))
    body = (
        pages.simple_index_json(names, serial)
        if media == negotiation.JSON
        else pages.simple_index_html(names)
    )
    token = reader.token.token.pk if reader.token is not None else ""
    etag = f'"{_index_key(serial, media)}-u{reader.user_id}-{token}"'
    return etag, _http_date(changed), body


def index_answer(media: str) -> tuple[str, str | None, bytes | str]:
    """(ETag, Last-Modified, body) of ``/simple/`` in ``media``, as anonymous readers of a
    public site see it (private projects left out)."""
    serial, changed = _index_state()
    key = _index_key(serial, media)
    body = _index_memo.get(key)
    if body is None:
        body = cache.get(f"simple:{key}")
        if body is None:
            # Anonymous readers' page: public projects only (shared by every worker).
            names = list(readable_projects(None).values_list("name", "normalized_name"))
            if media == negotiation.JSON:
                body = pages.simple_index_json(names, serial)
            else:
                body = pages.simple_index_html(names)
            cache.set(f"simple:{key}", body, 3600)
        if len(_index_memo) >= 6:
            _index_memo.clear()
        _index_memo[key] = body
    return f'"{key}"', _http_date(changed), body


_INDEX_STATE_SQL = "SELECT value, changed FROM packages_indexserial WHERE id = 1"


def _index_state() -> tuple[int, datetime | None]:
    """packages.services.index_state() without the ORM's query building (a third of a
    millisecond, most of the /simple/ request)."""
    with connection.cursor() as cursor:
        cursor.execute(_INDEX_STATE_SQL)
        row = cursor.fetchone()
    if row is None:
        return 0, None
    value, changed = row
    if isinstance(changed, str):  # SQLite keeps datetimes as text, in UTC
        changed = parse_datetime(changed)
    if changed is not None and timezone.is_naive(changed):
        changed = timezone.make_aware(changed, UTC)
    return int(value), changed


# The latest index pages, also kept in the process: with 10,000 projects a page is
# hundreds of KiB that the shared cache would otherwise unpickle (or fetch from Redis) on
# every request. Keyed by serial like the shared cache, so never stale.
_index_memo: dict[str, bytes | str] = {}


def forget_index_memo() -> None:
    """For tests that reset the database (and so the serial) between runs."""
    _index_memo.clear()


@read_view
@require_safe
def simple_index(request: HttpRequest) -> HttpResponse:
    return index_page(request) or _not_acceptable()


def stored_project_page(request: HttpRequest, normalized: str) -> HttpResponse | None:
    """``/simple/<normalized>/`` from its pre-rendered page when that page is current.

    None when the answer needs the full view: no acceptable format, no such project,
    or no current stored page.
    """
    media = _negotiate(request)
    if media is None:
        return None
    answer = stored_answer(normalized, media)
    return None if answer is None else _page_response(request, media, *answer)


def project_etag(project_id: int, serial: int, media: str) -> str:
    return f'"p{project_id}-{serial}{_SHORT[media]}"'


def current_etag(path: str, media: str) -> str | None:
    """The ETag ``path`` (``/simple/`` or ``/simple/<normalized>/``) would be answered
    with in ``media`` right now, read without the page: one small query. None when the
    stored page is not current (the full answer decides)."""
    if path == "/simple/":
        serial, _changed = _index_state()
        return f'"{_index_key(serial, media)}"'
    found = prerender.current_serial(path[8:-1])
    return None if found is None else project_etag(*found, media)


def stored_answer(normalized: str, media: str) -> tuple[str, str, bytes] | None:
    """(ETag, Last-Modified, body) of the current stored page, or None (see above)."""
    _exists, page = prerender.lookup(normalized, json=media == negotiation.JSON)
    if page is None:
        return None
    return project_etag(page.project_id, page.serial, media), page.last_modified, page.body


@read_view
@require_safe
def simple_project(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        query = request.META.get("QUERY_STRING", "")
        return HttpResponseRedirect(f"/simple/{normalized}/" + (f"?{query}" if query else ""))
    media = _negotiate(request)
    if media is None:
        return _not_acceptable()
    project = readable_project(request, normalized)
    found = prerender.lookup(normalized, json=media == negotiation.JSON, private=True)[1]
    if found is not None and found.project_id == project.pk:
        etag = project_etag(found.project_id, found.serial, media)
        return _page_response(request, media, etag, found.last_modified, found.body)
    # No current stored page (data from before pages were stored, or a race): render it
    # and store it for the next reader.
    stored = prerender.store(project)
    body = stored.json if media == negotiation.JSON else stored.html
    etag = project_etag(project.pk, stored.serial, media)
    return _page_response(request, media, etag, stored.last_modified, bytes(body))


@read_view
@require_safe
def project_json(request: HttpRequest, name: str, version: str | None = None) -> HttpResponse:
    normalized = canonicalize_name(name)
    project = readable_project(request, normalized)
    if normalized != name:
        suffix = f"{version}/json" if version else "json"
        return HttpResponseRedirect(f"/pypi/{normalized}/{suffix}")
    release = None
    if version is not None:
        try:
            canonical = canonical_version(version)
        except InvalidVersion:
            raise Http404 from None
        release = Release.objects.filter(project=project, canonical_version=canonical).first()
        if release is None:
            raise Http404
    etag = f'"j{project.pk}-{project.last_serial}-{release.pk if release else ""}"'
    last_modified = _http_date(project.last_changed)
    if _not_modified(request, etag, last_modified):
        return _cache_headers(HttpResponse(status=304), etag, last_modified)
    document = project_document(project, release, absolute_url, get_storage().url)
    if document is None:
        raise Http404
    response = JsonResponse(document, json_dumps_params={"separators": (",", ":")})
    return _cache_headers(response, etag, last_modified)


def _check_file_access(request: HttpRequest, digest: str) -> None:
    """Http404 unless the reader may read the project the file belongs to (one indexed
    query by digest; a private project's file answers as a file that does not exist)."""
    file = File.objects.filter(sha256_digest=digest).select_related("project").first()
    if file is None:
        return  # not a project's file: nothing private to protect (storage answers)
    if is_publicly_readable(file.project):
        return
    if not can_read(reader_of(request), file.project):
        raise Http404
    if file.project.is_private:
        mark_private(request)


@read_view
@require_safe
def download(request: HttpRequest, path: str) -> HttpResponse:
    """``/packages/ab/cd/<sha256>/<filename>`` and its ``.metadata``; one query by digest
    (read access), then storage."""
    full = f"packages/{path}"
    parts = path.split("/")
    if not is_safe_path(full) or len(parts) != 4 or len(parts[2]) != 64:
        raise Http404
    _check_file_access(request, parts[2])
    storage = get_storage()
    target = storage.redirect_url(full)
    if target is not None:
        # Presigned URLs expire, so the redirect may be reused only for part of their life.
        ttl = settings.PRESIGNED_URL_SECONDS // 2 if settings.DOWNLOADS == "presigned" else 86400
        redirect = HttpResponseRedirect(target)
        redirect["Cache-Control"] = f"public, max-age={ttl}"
        if request.method == "GET" and not full.endswith(".metadata"):
            counting.counter.count(parts[2])
        return mark_public(redirect)
    try:
        handle, size = storage.open_sized(full)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError):
        raise Http404 from None
    # Content-addressed and immutable: the digest in the path is a strong validator.
    etag = f'"{parts[2]}{"-m" if full.endswith(".metadata") else ""}"'
    response = file_response(request, handle, size, etag, full)
    if request.method == "GET" and response.status_code == 200 and not full.endswith(".metadata"):
        counting.counter.count(parts[2])
    return mark_public(response)
