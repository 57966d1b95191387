"""``/_/health/live`` and ``/_/health/ready``, answered before sessions, CSRF and views.

Load balancers probe with their own Host header (often the node's IP address), so these
two paths answer whatever the Host: web.hosts lets them through, and this middleware
answers them before anything (CommonMiddleware, a view) validates the host. They build no
link and reveal only up or down per component. Every answer is ``no-store``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse

from strongroom.ops import health
from strongroom.web.hosts import PROBE_PATHS

LIVE_PATH = "/_/health/live"
READY_PATH = "/_/health/ready"
assert frozenset({LIVE_PATH, READY_PATH}) == PROBE_PATHS


def probe_response(path: str, method: str) -> HttpResponse:
    """The answer to a probe of ``path`` (one of PROBE_PATHS)."""
    if method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
    elif path == LIVE_PATH:
        response = HttpResponse(
            json.dumps({"status": "ok"}), content_type="application/json", status=200
        )
    else:
        states = health.readiness()
        failed = sorted(name for name, up in states.items() if not up)
        body = {
            "status": "fail" if failed else "ok",
            "checks": {name: "ok" if up else "fail" for name, up in states.items()},
            "failed": failed,
        }
        response = HttpResponse(
            json.dumps(body), content_type="application/json", status=503 if failed else 200
        )
    response["Cache-Control"] = "no-store"
    return response


class HealthProbeMiddleware:
    """Answer the probes; pass every other request on."""

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path_info in PROBE_PATHS:
            return probe_response(request.path_info, request.method)
        return self.get_response(request)
