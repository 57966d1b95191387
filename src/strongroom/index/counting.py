"""Counting downloads without touching the database on the download path.

Each worker process adds to a counter in its own memory (a dict under a lock). Every
DOWNLOAD_FLUSH_EVERY downloads or DOWNLOAD_FLUSH_SECONDS, whichever comes first, a
background thread writes the aggregated counts, one row per file and day, to the database;
the seconds are kept by a timer thread of the worker's own (started with its first
download), so counts are written even when no further download arrives;
the servers' worker-exit hooks (strongroom.server) flush what is left
when a worker stops (Ctrl-C, SIGTERM). A crash loses at most one interval's counts, which
is acceptable for ranking projects by popularity. Why not Redis or a spool file: the
embedded deployment has no Redis, and a spool file would need its own reader and cron job;
the database write is already aggregated and rare.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from strongroom.ops import metrics

log = logging.getLogger("strongroom.index")

Key = tuple[str, date]  # (sha256 of the file, UTC day)


def write_counts(counts: Counter[Key]) -> int:
    """Add aggregated counts to DownloadCount; unknown digests are dropped. Returns rows."""
    from strongroom.index.models import DownloadCount
    from strongroom.packages.models import File

    digests = {sha for sha, _day in counts}
    files = {
        sha: (project_id, filename)
        for sha, project_id, filename in File.objects.filter(sha256_digest__in=digests).values_list(
            "sha256_digest", "project_id", "filename"
        )
    }
    written = 0
    with transaction.atomic():
        for (sha, day), number in sorted(counts.items()):
            if sha not in files:
                continue
            project_id, filename = files[sha]
            rows = DownloadCount.objects.filter(filename=filename, day=day)
            if not rows.update(count=F("count") + number):
                try:
                    with transaction.atomic():
                        DownloadCount.objects.create(
                            project_id=project_id, filename=filename, day=day, count=number
                        )
                except IntegrityError:  # another worker created it meanwhile
                    rows.update(count=F("count") + number)
            written += 1
    return written


class DownloadCounter:
    """A per-process tally of downloads, flushed in aggregate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.RLock()  # a signal handler may flush mid-count
        # Held from taking the counts to their commit: a flush as the worker stops waits
        # for a background flush already writing, instead of exiting under it (its counts
        # would be lost with the thread).
        self._write_lock = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._since_flush = 0
        self._last_flush = clock()
        self._flushing = False
        self._pending_since: float | None = None  # when the oldest unwritten count came
        self._timer_pid = 0  # the process whose timer thread runs (none after a fork)

    def count(self, sha256: str) -> None:
        """Count one download; may start a background flush. Never touches the database."""
        if self._timer_pid != os.getpid():
            self._start_timer()
        day = timezone.now().date()
        metrics.DOWNLOADS.inc()
        with self._lock:
            if not self._counts:
                self._pending_since = self._clock()
            self._counts[(sha256, day)] += 1
            self._since_flush += 1
            due = not self._flushing and (
                self._since_flush >= settings.DOWNLOAD_FLUSH_EVERY
                or self._clock() - self._last_flush >= settings.DOWNLOAD_FLUSH_SECONDS
            )
            if due:
                self._flushing = True
        if due:
            threading.Thread(target=self._flush_in_background, daemon=True).start()

    def _start_timer(self) -> None:
        with self._lock:
            if self._timer_pid == os.getpid():
                return
            self._timer_pid = os.getpid()
        threading.Thread(target=self._flush_on_timer, name="download-counts", daemon=True).start()

    def _flush_on_timer(self) -> None:
        """Every DOWNLOAD_FLUSH_SECONDS, write what was counted: an idle worker that is
        killed loses at most that interval's counts."""
        pid = os.getpid()
        while self._timer_pid == pid:
            interval = float(settings.DOWNLOAD_FLUSH_SECONDS)
            time.sleep(min(max(interval, 0.05), 1.0))  # a changed setting applies within 1 s
            metrics.DOWNLOAD_FLUSH_LAG.set(self.lag())
            with self._lock:
                due = (
                    bool(self._counts)
                    and not self._flushing
                    and self._clock() - self._last_flush >= interval
                )
                if due:
                    self._flushing = True
            if due:
                self._flush_in_background()

    def lag(self) -> float:
        """Seconds since the oldest count not yet written was made (0 when none is)."""
        with self._lock:
            since = self._pending_since if self._counts else None
            return 0.0 if since is None else max(0.0, self._clock() - since)

    def pending(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def _take(self) -> tuple[Counter[Key], float | None]:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            since, self._pending_since = self._pending_since, None
            self._since_flush = 0
            self._last_flush = self._clock()
            return counts, since

    def flush(self) -> int:
        """Write what was counted so far; on failure keep it for the next flush.

        Returns only once no other flush is writing, so what was counted before the call
        is in the database (or kept) when it returns."""
        with self._write_lock:
            counts, since = self._take()
            if not counts:
                return 0
            try:
                written = write_counts(counts)
            except Exception:
                log.exception("could not write %d download counts; keeping them", len(counts))
                with self._lock:
                    self._counts.update(counts)
                    # The kept counts are as old as they were.
                    if since is not None:
                        newer = self._pending_since
                        self._pending_since = since if newer is None else min(since, newer)
                metrics.DOWNLOAD_FLUSH_LAG.set(self.lag())
                return 0
            metrics.DOWNLOAD_FLUSH_LAG.set(self.lag())
            return written

    def flush_and_close(self) -> None:
        """Flush from a thread of its own, then close that thread's connection."""
        try:
            self.flush()
        finally:
            connection.close()

    def _flush_in_background(self) -> None:
        try:
            self.flush_and_close()
        finally:
            self._flushing = False


counter = DownloadCounter()
