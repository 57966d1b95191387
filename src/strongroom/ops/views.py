"""``/_/metrics``: the Prometheus text format, for a scraper holding the bearer token."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from strongroom.ops.metrics import exposition


def _presented_token(request: HttpRequest) -> str:
    scheme, _space, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics, when STRONGROOM_METRICS_TOKEN is set and presented as a bearer token.

    Unset, the metrics are off and the path is unknown (404); a missing or wrong token is
    401 (the token compared in constant time).
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404
    if not hmac.compare_digest(_presented_token(request).encode(), expected.encode()):
        response = HttpResponse(
            _("Present the metrics token: Authorization: Bearer <STRONGROOM_METRICS_TOKEN>.")
            + "\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    else:
        body, content_type = exposition()
        response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
