"""Finish what crashes and outages left behind: unpublished files, partial bodies.

``serve`` runs :func:`repair_files` once at start, before its workers take requests, and
``strongroom repair`` runs it on demand. A staged copy whose file row was committed is
published (never deleted: it is the only copy of a file the index lists); anything else
left in staging, and partial request bodies in the upload temp dir, are removed once they
are older than any upload still in flight.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from strongroom.packages.models import File
from strongroom.storage import get_storage
from strongroom.storage.base import RepairReport

log = logging.getLogger(__name__)

# An upload in flight on another server may have staged its file this long ago at most.
IN_FLIGHT_SECONDS = 3600


@dataclass
class Repaired:
    storage: RepairReport
    bodies_removed: int


def is_committed(path: str) -> bool:
    """Does a committed file row own ``path`` (a file, or a wheel's ``.metadata``)?"""
    query = Q(path=path)
    if path.endswith(".metadata"):
        query |= Q(path=path.removesuffix(".metadata"))
    return File.objects.filter(query).exists()


def remove_stale_bodies(before: float) -> int:
    """Remove request bodies left in the upload temp dir by requests that died before
    ``before`` (a Unix time)."""
    removed = 0
    directory = Path(settings.UPLOAD_TEMP_DIR)
    if not directory.is_dir():
        return 0
    for entry in directory.glob("upload-*.part"):
        try:
            if entry.stat().st_mtime < before:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def repair_files(*, at_start: bool) -> Repaired:
    """Publish committed files left in staging and remove stale partial copies.

    At start nothing of this server is in flight, so everything older than now is stale;
    a store shared with other servers (S3), or a run beside a live server, keeps what is
    younger than ``IN_FLIGHT_SECONDS``.
    """
    storage = get_storage()
    now = time.time()
    before = now if at_start and not storage.shared else now - IN_FLIGHT_SECONDS
    report = storage.repair(is_committed, before)
    bodies = remove_stale_bodies(now if at_start else now - IN_FLIGHT_SECONDS)
    for path in report.published:
        log.warning("repair: published %s, committed earlier but left in staging", path)
    for path in report.failed:
        log.error("repair: %s is still unpublished (kept in staging)", path)
    if report.removed or bodies:
        log.info(
            "repair: removed %d stale staged copies and %d partial upload bodies",
            len(report.removed),
            bodies,
        )
    return Repaired(report, bodies)
