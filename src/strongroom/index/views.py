"""The read path: simple API, JSON API and downloads. Few queries, cheap ETags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

from strongroom.index import counting, encoding, negotiation, pages, prerender, root
from strongroom.index.access import mark_private, read_view, readable_project, reader_of
from strongroom.index.caching import (
    INDEX_KEY,
    UNCACHED,
    add_cdn_headers,
    etag_matches,
    file_key,
    mark_public,
    project_key,
)
from strongroom.index.downloads import file_response
from strongroom.index.pypi_json import project_document
from strongroom.packages.models import File, Project, Release
from strongroom.packages.versions import canonical_version
from strongroom.packages.visibility import can_read, is_publicly_readable
from strongroom.proxy import views as proxy_views
from strongroom.storage import get_storage
from strongroom.storage.base import is_safe_path
from strongroom.web.http import absolute_url

_SHORT = {negotiation.JSON: "j", negotiation.HTML_V1: "v", negotiation.HTML: "h"}


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """A simple page ready to send: validators, bytes, their coding, surrogate keys."""

    etag: str
    last_modified: str | None
    body: bytes
    coding: str | None
    keys: tuple[str, ...]
    # /simple/ from a previous root while the stored one is fetched (index.root): not
    # for shared caches to keep.
    previous: bool = False


def _http_date(changed: datetime | None) -> str | None:
    return http_date(changed.timestamp()) if changed is not None else None


# The simple pages differ by Accept (format) and Accept-Encoding (stored compressed copies).
PAGE_VARY = "Accept, Accept-Encoding"


def _cache_headers(
    response: HttpResponse, etag: str, last_modified: str | None, *keys: str, vary: str = "Accept"
) -> HttpResponse:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = last_modified
    add_cdn_headers(response, *keys)
    return mark_public(response, vary)


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
        return etag_matches(none_match, etag)
    if not since_header or not last_modified:
        return False
    since = parse_http_date_safe(since_header)
    changed = parse_http_date_safe(last_modified)
    return since is not None and changed is not None and changed <= since


def _negotiate(request: HttpRequest) -> str | None:
    return negotiation.choose(request.META.get("HTTP_ACCEPT"), request.GET.get("format"))


def _coding(request: HttpRequest) -> str | None:
    return encoding.choose(request.META.get("HTTP_ACCEPT_ENCODING"))


def _not_acceptable() -> HttpResponse:
    offered = ", ".join(negotiation.PREFERENCE)
    response = HttpResponse(
        _("Not acceptable. This index offers: %(types)s") % {"types": offered} + "\n",
        status=406,
        content_type="text/plain; charset=utf-8",
    )
    response["Vary"] = "Accept"
    return response


def _page_response(request: HttpRequest, media: str, answer: PageAnswer) -> HttpResponse:
    if _not_modified(request, answer.etag, answer.last_modified):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(answer.body, content_type=content_type(media))
        if answer.coding is not None:
            response["Content-Encoding"] = answer.coding
    _cache_headers(response, answer.etag, answer.last_modified, *answer.keys, vary=PAGE_VARY)
    if answer.previous:
        for name, value in UNCACHED:
            response[name] = value
    return response


def content_type(media: str) -> str:
    return media if media == negotiation.JSON else f"{media}; charset=utf-8"


def _index_key(serial: int, media: str, coding: str | None = None) -> str:
    return encoding.etag_for(f'"i{serial}{_SHORT[media]}"', coding)[1:-1]


def index_page(request: HttpRequest) -> HttpResponse | None:
    """``/simple/``, or None when no acceptable format is offered.

    Served from the root stored at write time (index.root), whose ETag holds the serial
    it was rendered at: no request lists the projects itself, except a scoped token's.
    """
    media = _negotiate(request)
    if media is None:
        return None
    reader = reader_of(request)
    if not reader.is_anonymous:
        return _page_response(request, media, _reader_index_answer(request, media))
    return _page_response(request, media, index_answer(media, _coding(request)))


def public_index_page(request: HttpRequest) -> HttpResponse | None:
    """``/simple/`` as anonymous readers see it (the fast path: no reader resolved)."""
    media = _negotiate(request)
    if media is None:
        return None
    return _page_response(request, media, index_answer(media, _coding(request)))


def _reader_index_answer(request: HttpRequest, media: str) -> PageAnswer:
    """``/simple/`` as a signed-in reader or token holder sees it: public projects and the
    private ones they may read, never shared. The stored public root with their private
    projects' names added (one query for those, and a copy of the page's bytes, which
    is served uncompressed then); the stored answer itself, compressed as asked, when
    they have none. A token scoped to projects or an organisation lists its scope only:
    that listing is built per request, for those readers alone."""
    reader = reader_of(request)
    mark_private(request)
    json = media == negotiation.JSON
    extras = root.private_names(reader)
    if extras == []:
        return dataclasses.replace(index_answer(media, _coding(request)), keys=())
    if extras is None:
        serial, changed = _index_state()
        names = root.reader_names(reader)
        text = pages.simple_index_json(names, serial) if json else pages.simple_index_html(names)
        token = reader.token.token.pk if reader.token is not None else ""
        etag = f'"{_index_key(serial, media)}-u{reader.user_id}-{token}"'
        return PageAnswer(etag, _http_date(changed), text.encode(), None, ())
    public = root.stored(json, None)
    body = root.with_extras(public.body, json, extras)
    etag = f'"{_index_key(public.serial, media)}-x{root.extras_tag(extras)}"'
    return PageAnswer(etag, public.last_modified, body, None, ())


def index_answer(media: str, coding: str | None = None) -> PageAnswer:
    """The answer of ``/simple/`` in ``media`` and ``coding``, from the stored root."""
    found = root.stored(media == negotiation.JSON, coding)
    etag = f'"{_index_key(found.serial, media, coding)}"'
    return PageAnswer(etag, found.last_modified, found.body, coding, (INDEX_KEY,), found.previous)


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


def forget_index_memo() -> None:
    """For tests that reset the database (and so the serial) between runs."""
    root.forget_memo()


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
    answer = stored_answer(normalized, media, _coding(request))
    return None if answer is None else _page_response(request, media, answer)


def project_etag(project_id: int, serial: int, media: str, coding: str | None = None) -> str:
    return encoding.etag_for(f'"p{project_id}-{serial}{_SHORT[media]}"', coding)


def current_etag(path: str, media: str, coding: str | None = None) -> str | None:
    """The ETag ``path`` (``/simple/`` or ``/simple/<normalized>/``) would be answered
    with in ``media`` and ``coding`` right now, read without the page: one small query.
    None when the stored page is not current (the full answer decides)."""
    if path == "/simple/":
        return f'"{_index_key(root.current_serial(), media, coding)}"'
    found = prerender.current_serial(path[8:-1])
    return None if found is None else project_etag(*found, media, coding)


def stored_answer(normalized: str, media: str, coding: str | None = None) -> PageAnswer | None:
    """The answer from the current stored page, or None (see above)."""
    _exists, page = prerender.lookup(normalized, media == negotiation.JSON, coding)
    if page is None:
        return None
    etag = project_etag(page.project_id, page.serial, media, page.coding)
    return PageAnswer(etag, page.last_modified, page.body, page.coding, (project_key(normalized),))


def _moved(location: str, normalized: str) -> HttpResponse:
    """A name redirect: permanent (301), as PyPI answers, and cacheable like the page."""
    response = HttpResponsePermanentRedirect(location)
    add_cdn_headers(response, project_key(normalized))
    return mark_public(response)


def _proxied_name(normalized: str) -> bool:
    """Whether ``/simple/<normalized>/`` may be answered from the upstream index: the proxy
    is on and no local project has the name, whatever its visibility or status."""
    return proxy_views.enabled() and not Project.objects.filter(normalized_name=normalized).exists()


@read_view
@require_safe
def simple_project(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        query = request.META.get("QUERY_STRING", "")
        return _moved(f"/simple/{normalized}/" + (f"?{query}" if query else ""), normalized)
    media = _negotiate(request)
    if media is None:
        return _not_acceptable()
    try:
        project = readable_project(request, normalized)
    except Http404:
        # Unknown, or private and not readable by this reader: the same answer. A name
        # with any local project is never answered from upstream (proxy.names).
        if _proxied_name(normalized):
            proxied = proxy_views.simple_page(request, normalized, media)
            if proxied is not None:
                return proxied
        return _no_such_project(normalized)
    coding = _coding(request)
    found = prerender.lookup(normalized, media == negotiation.JSON, coding, private=True)[1]
    if found is not None and found.project_id == project.pk:
        etag = project_etag(found.project_id, found.serial, media, found.coding)
        keys = (project_key(normalized),)
        answer = PageAnswer(etag, found.last_modified, found.body, found.coding, keys)
        return _page_response(request, media, answer)
    # No current stored page (data from before pages were stored, or a race): render it
    # and store it for the next reader.
    stored = prerender.store(project)
    body = bytes(getattr(stored, prerender.column(media == negotiation.JSON, coding)))
    etag = project_etag(project.pk, stored.serial, media, coding)
    answer = PageAnswer(etag, stored.last_modified, body, coding, (project_key(normalized),))
    return _page_response(request, media, answer)


def _no_such_project(normalized: str) -> HttpResponse:
    """The simple API's 404, cacheable under the project's key, so that the purge made
    when the project appears drops it from the CDN."""
    response = HttpResponseNotFound(
        _("No project by that name.") + "\n", content_type="text/plain; charset=utf-8"
    )
    add_cdn_headers(response, project_key(normalized))
    return mark_public(response, "Accept")


def _json_not_found(normalized: str) -> HttpResponse:
    """PyPI's answer for an unknown project or version on the JSON API (keyed as above)."""
    response = JsonResponse({"message": "Not Found"}, status=404)
    add_cdn_headers(response, project_key(normalized))
    return mark_public(response)


@read_view
@require_safe
def project_json(request: HttpRequest, name: str, version: str | None = None) -> HttpResponse:
    normalized = canonicalize_name(name)
    try:
        project = readable_project(request, normalized)
    except Http404:
        if _proxied_name(normalized):
            proxied = proxy_views.json_api(normalized, version)
            if proxied is not None:
                return proxied
        return _json_not_found(normalized)  # unknown, or private and not readable
    if project.is_quarantined:
        return _json_not_found(normalized)
    if normalized != name:
        suffix = f"{version}/json" if version else "json"
        return _moved(f"/pypi/{normalized}/{suffix}", normalized)
    release = None
    if version is not None:
        try:
            canonical = canonical_version(version)
        except InvalidVersion:
            return _json_not_found(normalized)
        release = Release.objects.filter(project=project, canonical_version=canonical).first()
        if release is None:
            return _json_not_found(normalized)
    etag = f'"j{project.pk}-{project.last_serial}-{release.pk if release else ""}"'
    last_modified = _http_date(project.last_changed)
    key = project_key(normalized)
    if _not_modified(request, etag, last_modified):
        return _cache_headers(HttpResponse(status=304), etag, last_modified, key)
    document = project_document(project, release, absolute_url, get_storage().url)
    if document is None:
        return _json_not_found(normalized)
    response = JsonResponse(document, json_dumps_params={"separators": (",", ":")})
    return _cache_headers(response, etag, last_modified, key)


def _file_keys(parts: list[str]) -> tuple[str, ...]:
    """The surrogate keys of a stored file: the file, and its project when the filename
    names one (a wheel or an sdist; PEP 427/625)."""
    filename = parts[3].removesuffix(".metadata")
    keys = [file_key(parts[2])]
    try:
        if filename.endswith(".whl"):
            name = parse_wheel_filename(filename)[0]
        else:
            name = parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return tuple(keys)
    return (project_key(name), *keys)


def _check_file_access(request: HttpRequest, digest: str) -> None:
    """Http404 unless the file may be offered to this reader: one indexed query by digest
    for its project, whose status (PEP 792: a quarantined project offers no file) and
    visibility (a private project's file answers as a file that does not exist) decide."""
    file = File.objects.filter(sha256_digest=digest).select_related("project").first()
    if file is None:
        # Not a project's file: nothing to protect (storage answers, with a 404). The
        # reader is resolved all the same, so that this answer and a private file's carry
        # the same headers (resolving it reads the session, which adds Vary: Cookie).
        reader_of(request)
        return
    project = file.project
    if project.is_quarantined:
        raise Http404
    if is_publicly_readable(project):
        return
    if not can_read(reader_of(request), project):
        raise Http404
    if project.is_private:
        mark_private(request)


@read_view
@require_safe
def download(request: HttpRequest, path: str) -> HttpResponse:
    """``/packages/ab/cd/<sha256>/<filename>`` and its ``.metadata``; one indexed query
    (the file's project: status and read access), then the stored bytes."""
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
        add_cdn_headers(redirect, *_file_keys(parts), cache=f"public, max-age={ttl}")
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
    add_cdn_headers(response, *_file_keys(parts), cache=response["Cache-Control"])
    if request.method == "GET" and response.status_code == 200 and not full.endswith(".metadata"):
        counting.counter.count(parts[2])
    return mark_public(response)
