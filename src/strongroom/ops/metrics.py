"""The Prometheus metrics: defined here, incremented where each thing happens.

``strongroom serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` (a folder under the data dir,
emptied at start) before any worker imports this module, so every worker writes its
samples to files there and ``/_/metrics`` sums them (prometheus-client's multiprocess
mode). Without it (tests, a single process) the samples live in this process.

Labels take values from small closed sets only (route families, reasons, outcomes): a
label built from a client's input could grow the series without bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Simple-page answers take well under a millisecond from memory; uploads take seconds.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "strongroom_http_requests", "HTTP requests answered, by route family and status.",
    ["family", "status"],
)  # fmt: skip
REQUEST_SECONDS = Histogram(
    "strongroom_http_request_duration_seconds",
    "Time until the response's headers were ready, by route family.",
    ["family"],
    buckets=_BUCKETS,
)
UPLOADS = Counter(
    "strongroom_uploads", "Uploads accepted or refused, by reason.", ["outcome", "reason"]
)
LOGIN_FAILURES = Counter("strongroom_login_failures", "Failed sign-in attempts, by step.", ["step"])
LIMIT_HITS = Counter(
    "strongroom_rate_limit_hits", "Requests refused because a rate limit was reached.",
    ["limit"],
)  # fmt: skip
TOKEN_VERIFICATIONS = Counter(
    "strongroom_token_verifications", "API token verifications, by outcome.", ["outcome"]
)
DOWNLOADS = Counter("strongroom_downloads", "Package files served (whole or in part).")
DOWNLOAD_FLUSH_LAG = Gauge(
    "strongroom_download_flush_lag_seconds",
    "Age of the oldest download count a worker holds that is not yet written (0: none).",
    multiprocess_mode="livemax",
)
PROXY_CACHE = Counter(
    "strongroom_proxy_cache", "Upstream proxy cache look-ups, by result (hit or miss).",
    ["result"],
)  # fmt: skip
PROXY_UPSTREAM_ERRORS = Counter(
    "strongroom_proxy_upstream_errors", "Upstream index failures, by what was fetched.",
    ["kind"],
)  # fmt: skip

# The first path segment names the family; anything else is "web".
_FAMILIES = {
    "simple": "simple",
    "legacy": "upload",
    "packages": "download",
    "pypi": "json",
    "_": "ops",
    "static": "static",
    "account": "account",
    "manage": "manage",
}
_LOGIN_PATHS = ("/account/login/", "/account/two-factor/")


def route_family(path: str) -> str:
    """The family a request path belongs to: a closed set, whatever the path."""
    if path.startswith(_LOGIN_PATHS):
        return "login"
    first = path[1:].split("/", 1)[0] if path.startswith("/") else ""
    return _FAMILIES.get(first, "web")


# An upload refusal's reason, from its status: each status means one kind of refusal.
_UPLOAD_REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    405: "method",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
    507: "no_room",
}


def upload_refused(status: int) -> None:
    UPLOADS.labels("refused", _UPLOAD_REASONS.get(status, "other")).inc()


def upload_accepted() -> None:
    UPLOADS.labels("accepted", "ok").inc()


class RequestMetrics:
    """WSGI middleware (outermost, so the simple fast path is measured too): counts each
    request by family and status and times it until its headers are ready."""

    def __init__(self, app: WSGIApp, clock: Callable[[], float] = time.perf_counter):
        self.app = app
        self.clock = clock
        # The labelled children, looked up once each: ``labels()`` takes a lock and builds
        # a key, a third of this wrapper's cost per request.
        self._timers: dict[str, Any] = {}
        self._counters: dict[tuple[str, str], Any] = {}

    def _timer(self, family: str) -> Any:
        timer = self._timers.get(family)
        if timer is None:
            timer = self._timers[family] = REQUEST_SECONDS.labels(family)
        return timer

    def _counter(self, family: str, status: str) -> Any:
        key = (family, status[:3] if status[:3].isdigit() else "000")
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(*key)
        return counter

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        family = route_family(environ.get("PATH_INFO", ""))
        started = self.clock()

        def measured_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            self._timer(family).observe(self.clock() - started)
            self._counter(family, status).inc()
            return start_response(status, headers, exc_info)

        return self.app(environ, measured_start_response)


def exposition() -> tuple[bytes, str]:
    """The current metrics (every worker's, summed) in the Prometheus text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the sums)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
