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
from strongroom.packages.models import File
from strongroom.packages.versions import canonical_version
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
    file = (
        File.objects.filter(
            project__normalized_name=canonicalize_name(name),
            release__canonical_version=canonical,
            filename=filename,
        ).first()
        if canonical is not None
        else None
    )
    if file is None:
        return _answer({"message": _("No such file: %(name)s.") % {"name": filename[:255]}}, 404)
    record = FileProvenance.objects.filter(file=file).values_list("provenance", flat=True).first()
    if record is None:
        return _answer(
            {"message": _("No provenance available for %(name)s.") % {"name": file.filename}},
            404,
        )
    return _answer(record, 200)
