"""The request id: one short token per request, in every log line it causes and in the
``X-Request-ID`` response header.

An incoming ``X-Request-ID`` (set by a load balancer or a client) is kept when it is
well-formed: 1 to 128 characters of letters, digits and ``-_.:@+=/``; anything else
(spaces, quotes, control characters, a value long enough to bloat every line) is replaced
by a fresh id, so a hostile header can never forge or split a log line. The id lives in a
context variable, where the logging filter below reads it: set when a request starts, it
stays set in that thread until the next request replaces it.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

ENVIRON_KEY = "strongroom.request_id"
_WELL_FORMED = re.compile(r"[A-Za-z0-9_.:@+=/-]{1,128}")

current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Ids:
    """Fresh ids: 64 random bits per process, then a counter (32 hex digits in all).

    Unique across processes without a system call per request (measured: 0.7 us for an
    id, against 1.0 us for reading 16 random bytes). Ids are labels, not secrets. A forked
    worker draws its own random half, so workers forked from one parent never collide.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


new_request_id = _Ids()
os.register_at_fork(after_in_child=new_request_id.reseed)


def request_id_for(incoming: str | None) -> str:
    """The id a request carries: ``incoming`` if well-formed, else a fresh one."""
    if incoming and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return new_request_id()


class RequestIds:
    """WSGI middleware: chooses the request's id, keeps it in ``environ[ENVIRON_KEY]`` and
    the context variable, and adds ``X-Request-ID`` to the response, whoever answers (the
    simple fast path or Django)."""

    def __init__(self, app: WSGIApp):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request_id = environ.get(ENVIRON_KEY) or request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id
        # Left set after the call: a streamed body is produced later in this same thread,
        # and the next request sets its own.
        current.set(request_id)

        def with_id(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        return self.app(environ, with_id)


class RequestIdFilter(logging.Filter):
    """Gives every log record a ``request_id`` attribute (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get()
        return True
