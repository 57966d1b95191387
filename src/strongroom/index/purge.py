"""Tell the CDN (or Varnish, nginx) in front of the index that a project changed.

Every read-path answer carries surrogate keys (``index.caching``); a change to a project
purges its keys. ``purge_project(name)`` is the one call: it may be made inside the
transaction that changes the project (the purge is sent only once that commits, never for
a rolled-back change) or outside any. The purge is sent by a background thread of the
process and retried with back-off, so a slow or absent CDN never holds a write; the
request that made the change waits at most ``STRONGROOM_PURGE_WAIT_MS`` for the first
attempt, so that the very next read through the CDN sees the change.

The backend is chosen in settings (``STRONGROOM_PURGE_BACKEND``): ``none``, ``http`` (one
``PURGE`` or ``BAN`` request to ``STRONGROOM_PURGE_URL`` with the keys in a
``Surrogate-Key`` header, as docs/varnish.vcl takes it), ``fastly`` (Fastly's purge-by-keys
API), or the dotted path of a ``PurgeBackend`` class.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from strongroom.index.caching import project_key
from strongroom.packages.models import Project

logger = logging.getLogger(__name__)

_TIMEOUT_SECONDS = 5.0
_ALIASES = {
    "none": "strongroom.index.purge.NoPurge",
    "http": "strongroom.index.purge.HttpPurge",
    "fastly": "strongroom.index.purge.FastlyPurge",
}


class PurgeError(Exception):
    """A purge the backend did not confirm (it is retried)."""


class PurgeBackend:
    """Drops every cached response carrying any of ``keys``; raises PurgeError if not."""

    def purge(self, keys: Sequence[str]) -> None:
        raise NotImplementedError


class NoPurge(PurgeBackend):
    """No shared cache to tell: pages then carry a short CDN lifetime (index.caching)."""

    def purge(self, keys: Sequence[str]) -> None:
        return None


def _send(request: urllib.request.Request) -> None:
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        raise PurgeError(f"{request.full_url} answered {exc.code} {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise PurgeError(f"{request.full_url} unreachable: {exc}") from None


class HttpPurge(PurgeBackend):
    """``PURGE`` (or ``BAN``) ``STRONGROOM_PURGE_URL`` with ``Surrogate-Key: <keys>``."""

    def __init__(self, url: str | None = None, method: str | None = None):
        self.url = url or settings.PURGE_URL
        self.method = method or settings.PURGE_METHOD
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("STRONGROOM_PURGE_URL must be an http(s) URL for the http backend")

    def purge(self, keys: Sequence[str]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL is checked above
            self.url, method=self.method, headers={"Surrogate-Key": " ".join(keys)}
        )
        _send(request)


class FastlyPurge(PurgeBackend):
    """Fastly's "purge multiple surrogate keys" call (soft purge: Fastly may still serve
    the old page while it fetches the new one, within stale-while-revalidate)."""

    def __init__(self) -> None:
        if not settings.FASTLY_SERVICE_ID or not settings.FASTLY_API_TOKEN:
            raise ValueError("the fastly purge backend needs FASTLY_SERVICE_ID and _API_TOKEN")
        base = settings.FASTLY_API_URL.rstrip("/")
        self.url = f"{base}/service/{settings.FASTLY_SERVICE_ID}/purge"
        self.token = settings.FASTLY_API_TOKEN

    def purge(self, keys: Sequence[str]) -> None:
        request = urllib.request.Request(  # noqa: S310 - an https URL from settings
            self.url,
            method="POST",
            data=json.dumps({"surrogate_keys": list(keys)}).encode(),
            headers={
                "Fastly-Key": self.token,
                "Fastly-Soft-Purge": "1",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        _send(request)


@functools.cache
def get_backend() -> PurgeBackend:
    """The configured backend (built once per process)."""
    path = settings.PURGE_BACKEND.strip() or "none"
    backend_class: Callable[[], PurgeBackend] = import_string(_ALIASES.get(path.lower(), path))
    return backend_class()


@dataclass
class _Job:
    keys: tuple[str, ...]
    backend: PurgeBackend
    first_attempt: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    succeeded: bool = False


class _Purger:
    """One background thread per process sending purges in order, with retries."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # A thread inherited through fork (gunicorn's workers) does not run here.
                self._queue = queue.Queue()
                self._thread = threading.Thread(target=self._run, name="cdn-purge", daemon=True)
                self._pid = os.getpid()
                self._thread.start()
            self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                _attempt(job)
            finally:
                job.first_attempt.set()
                job.done.set()
                self._queue.task_done()

    def pending(self) -> int:
        return self._queue.unfinished_tasks


def _attempt(job: _Job) -> None:
    delay = 0.5
    attempts = max(settings.PURGE_ATTEMPTS, 1)
    for attempt in range(1, attempts + 1):
        try:
            job.backend.purge(job.keys)
        except Exception as exc:  # a backend's bug must not stop the thread either
            logger.warning(
                "CDN purge of %s failed (attempt %d of %d): %s",
                " ".join(job.keys),
                attempt,
                attempts,
                exc,
            )
        else:
            job.succeeded = True
            return
        finally:
            job.first_attempt.set()
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    logger.error("CDN purge of %s given up after %d attempts", " ".join(job.keys), attempts)


_purger = _Purger()


def purge_keys(keys: Sequence[str], wait_ms: int | None = None) -> _Job | None:
    """Send the purge of ``keys`` now (in the background); wait up to ``wait_ms`` for its
    first attempt. None when no backend is configured."""
    try:
        backend = get_backend()
    except Exception as exc:  # a misconfigured backend must not fail a committed change
        logger.error("CDN purge of %s not sent: purge backend unusable: %s", " ".join(keys), exc)
        return None
    if isinstance(backend, NoPurge) or not keys:
        return None
    job = _Job(tuple(dict.fromkeys(keys)), backend)
    _purger.submit(job)
    wait = settings.PURGE_WAIT_MS if wait_ms is None else wait_ms
    if wait > 0:
        job.first_attempt.wait(wait / 1000)
    return job


def project_keys(normalized_name: str) -> tuple[str, ...]:
    """What a change to the project makes stale: its pages, documents and files.
    ``/simple/`` is purged by index.root once a change to what it lists is rendered (a
    purge sent before would let the CDN fetch the old root again)."""
    return (project_key(normalized_name),)


def purge_project(normalized_name: str) -> None:
    """Purge the project's cached responses once the current transaction commits (at
    once outside one). For every change: upload, yank, deletion, visibility, status."""
    keys = project_keys(normalized_name)
    transaction.on_commit(lambda: purge_keys(keys))


def on_project_changed(sender: object, project: Project, **kwargs: object) -> None:
    purge_project(project.normalized_name)


def on_project_removed(sender: object, normalized_name: str, **kwargs: object) -> None:
    purge_project(normalized_name)


def wait_for_purges(timeout: float = 10.0) -> bool:
    """Wait until every purge submitted so far was sent or given up (tests, exit)."""
    deadline = time.monotonic() + timeout
    while _purger.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _purger.pending()


# A short-lived process (a CLI command) gets its purges out before it exits.
atexit.register(wait_for_purges, 5.0)
