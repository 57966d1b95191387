"""PyPI's Integrity API: ``GET /integrity/<project>/<version>/<filename>/provenance``
answers a file's PEP 740 provenance as ``application/vnd.pypi.integrity.v1+json``."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

from strongroom.index import negotiation
from strongroom.index.access import mark_private, read_view, reader_of
from strongroom.packages.models import File, Project
from strongroom.packages.versions import canonical_version
from strongroom.packages.visibility import can_read, is_publicly_readable
from strongroom.proxy import views as proxy_views
from strongroom.publishing.models import FileProvenance

INTEGRITY_V1 = "application/vnd.pypi.integrity.v1+json"
_OFFERS = (INTEGRITY_V1, "application/json")


def _answer(body: object, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=INTEGRITY_V1)
    response["Vary"] = "Accept"
    return response


def _acceptable(accept: str | None) -> bool:
    if not accept:
        return True
    ranges = negotiation._parse(accept)
    return any(negotiation._quality(offer, ranges) > 0 for offer in _OFFERS)


def _offered(request: HttpRequest, file: File) -> bool:
    """Whether this reader may see the file: its project readable (packages.visibility)
    and not quarantined (PEP 792)."""
    project = file.project
    if project.is_quarantined:
        return False
    if is_publicly_readable(project):
        return True
    if not can_read(reader_of(request), project):
        return False
    if project.is_private:
        mark_private(request)
    return True


@read_view
@require_safe
def provenance(request: HttpRequest, name: str, version: str, filename: str) -> HttpResponse:
    if not _acceptable(request.META.get("HTTP_ACCEPT")):
        return _answer(
            {"message": _("Only %(media)s is offered here.") % {"media": INTEGRITY_V1}}, 406
        )
    try:
        canonical = canonical_version(version)
    except InvalidVersion:
        canonical = None
    normalized = canonicalize_name(name)
    file = (
        File.objects.select_related("project")
        .filter(
            project__normalized_name=normalized,
            release__canonical_version=canonical,
            filename=filename,
        )
        .first()
        if canonical is not None
        else None
    )
    if file is not None and not _offered(request, file):
        file = None  # a private project's file answers as one that does not exist
    if file is None and not Project.objects.filter(normalized_name=normalized).exists():
        # No local project of the name: an upstream file's provenance, when the proxy
        # verified it (proxy.provenance); never the upstream's own unverified.
        known, proxied = proxy_views.upstream_provenance(normalized, version, filename)
        if proxied is not None:
            return _answer(proxied, 200)
        if known:
            return _no_provenance(filename)
    if file is None:
        # The same answer whatever was asked: nothing tells an unreadable file from none.
        return _answer({"message": _("No such file.")}, 404)
    record = FileProvenance.objects.filter(file=file).values_list("provenance", flat=True).first()
    if record is None:
        return _no_provenance(file.filename)
    return _answer(record, 200)


def _no_provenance(filename: str) -> HttpResponse:
    return _answer(
        {"message": _("No provenance available for %(name)s.") % {"name": filename}}, 404
    )
