"""Plain 503 answers when a service the index depends on is down.

Every uncaught exception ends in ``handler500``; when it is an outage (the database or
the file storage cannot be reached) the client gets a short ``503 Service Unavailable``
text instead of an error page, since rendering a page needs the database too. The
message is also the reason phrase, which is what twine prints. The log gets one line,
not a traceback (see :class:`OutageLogFilter`).
"""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.translation import gettext as _

from strongroom.storage.base import StorageFull, StorageUnavailable

log = logging.getLogger("strongroom.outage")
RETRY_AFTER_SECONDS = 30


def is_disk_full(error: BaseException | None) -> bool:
    """A database or storage error that means "no room left", not "cannot be reached":
    SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100), a full store."""
    if isinstance(error, StorageFull):
        return True
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlite_errorname", "") == "SQLITE_FULL":
        return True
    return getattr(cause, "sqlstate", "") == "53100"


def outage_status(error: BaseException | None) -> int:
    """507 Insufficient Storage for a full disk, else 503."""
    return 507 if is_disk_full(error) else 503


def outage_message(error: BaseException | None) -> str | None:
    """The sentence for the client when ``error`` is an outage, else None."""
    if is_disk_full(error):
        return _("Insufficient storage: the server's disk is full. Try again later.")
    if isinstance(error, OperationalError | InterfaceError):
        return _("Service unavailable: the database cannot be reached. Try again shortly.")
    if isinstance(error, StorageUnavailable):
        return _("Service unavailable: the file storage cannot be reached. Try again shortly.")
    if isinstance(error, DatabaseError) and _is_connection_error(error):
        return _("Service unavailable: the database cannot be reached. Try again shortly.")
    return None


def _is_connection_error(error: DatabaseError) -> bool:
    cause = error.__cause__
    return cause is not None and type(cause).__name__ in {"OperationalError", "InterfaceError"}


def unavailable_response(message: str, status: int = 503) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.reason_phrase = " ".join(message.split())
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def outage_response() -> HttpResponse | None:
    """A 503 for the exception being handled, when it is an outage."""
    error = sys.exc_info()[1]
    message = outage_message(error)
    if message is None:
        return None
    status = outage_status(error)
    log.warning("%d %s: %s", status, type(error).__name__, str(error).strip().splitlines()[0:1])
    return unavailable_response(message, status)


class OutageLogFilter(logging.Filter):
    """Drop django.request's traceback for outages; ``outage_response`` logged a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and outage_message(record.exc_info[1]) is not None:
            return False
        status = getattr(record, "status_code", 0)
        return not (record.levelno >= logging.ERROR and status in {503, 507})
