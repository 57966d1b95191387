"""Upstream files on first download: fetched once across workers (a lease on the file's
row), streamed to the client while written to a temporary file, checked against the
sha256 the page listed, and only then kept in the storage; served from the storage after.

A mismatch is refused (the stream is cut before its last bytes, so the client never gets
the whole wrong file), logged and audited; nothing is kept. An upstream failure before
the first byte is a 503 naming the upstream; one after it cuts the stream; in both cases
nothing is kept.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import timedelta
from pathlib import Path
from typing import IO

import httpx
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.ops.metrics import PROXY_CACHE, PROXY_UPSTREAM_ERRORS
from strongroom.proxy import upstream
from strongroom.proxy.models import CachedFile
from strongroom.proxy.provenance import check_provenance
from strongroom.storage import get_storage

log = logging.getLogger(__name__)
CHUNK = 256 * 1024
# How long a worker may hold a fetch before another may take it over; extended while
# bytes keep arriving.
LEASE_SECONDS = 120
WAIT_POLL = 0.2


class FileRefused(Exception):
    """The upstream's bytes did not match the listed sha256."""


def record_refusal(row: CachedFile, actual: str) -> None:
    """Audit and log a hash mismatch (nothing was kept)."""
    log.warning("upstream file %s refused: sha256 %s, listed %s", row.url, actual, row.expected)
    with transaction.atomic():
        record_event(
            EventTag.PROXY_FILE_REFUSED,
            extra={"project": row.normalized_name, "filename": row.filename,
                   "expected": row.expected, "actual": actual, "url": row.url,
                   "metadata": row.is_metadata},
        )  # fmt: skip


def take_lease(row: CachedFile) -> bool:
    """Whether this worker now fetches ``row`` (no other worker holds a live lease)."""
    now = timezone.now()
    taken = (
        CachedFile.objects.filter(pk=row.pk, stored=False)
        .filter(Q(fetching_until__isnull=True) | Q(fetching_until__lt=now))
        .update(fetching_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    return taken == 1


def _extend_lease(row: CachedFile) -> None:
    until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    CachedFile.objects.filter(pk=row.pk).update(fetching_until=until)


def release_lease(row: CachedFile) -> None:
    CachedFile.objects.filter(pk=row.pk).update(fetching_until=None)


def _keep(row: CachedFile, source: Path, size: int) -> None:
    """Put the verified bytes in the storage, then mark the row stored.

    The storage publishes a file once its transaction commits, so the row is marked only
    after that commit: marked in the same transaction, it was visible to waiting workers
    before the file was, and a waiter that found no file took it as purged and fetched it
    again. A crash between the two leaves a file and an unmarked row: the next download
    fetches and publishes it again over the same path."""
    with transaction.atomic():
        get_storage().save(row.storage_path, source)
    CachedFile.objects.filter(pk=row.pk).update(
        stored=True, size=size, fetching_until=None, last_used=timezone.now()
    )
    from strongroom.proxy.services import evict_to_cap

    evict_to_cap()


def wait_for_other_fetch(row: CachedFile, deadline: float) -> bool:
    """Wait while another worker fetches ``row``; True once it is stored."""
    while time.monotonic() < deadline:
        current = CachedFile.objects.filter(pk=row.pk).values("stored", "fetching_until").first()
        if current is None:
            return False
        if current["stored"]:
            return True
        lease = current["fetching_until"]
        if lease is None or lease < timezone.now():
            return False  # the other fetch ended without keeping the file
        time.sleep(WAIT_POLL)
    return False


class Fetch:
    """An upstream file being fetched by this worker: opened (the first chunk read, so a
    failure before any byte is an UpstreamError for a 503), then iterated."""

    def __init__(self, row: CachedFile):
        self.row = row
        self.size: int | None = None
        self._stack = ExitStack()
        self._digest = hashlib.sha256()
        self._temp: IO[bytes] | None = None
        self._first = b""

    def open(self) -> None:
        try:
            response = self._stack.enter_context(upstream.open_file(self.row.url))
            length = response.headers.get("content-length")
            self.size = int(length) if length and length.isdigit() else None
            self._chunks = response.iter_bytes(CHUNK)
            try:
                self._first = next(self._chunks, b"")
            except httpx.HTTPError as exc:
                raise upstream.UpstreamError(
                    f"the upstream broke off ({type(exc).__name__})"
                ) from None
            self._temp = self._stack.enter_context(
                tempfile.NamedTemporaryFile(prefix="strongroom-upstream-", delete=False)  # noqa: SIM115
            )
        except upstream.UpstreamError:
            self.close()
            PROXY_UPSTREAM_ERRORS.labels("file").inc()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with suppress(upstream.UpstreamError):
            self._stack.close()
        if self._temp is not None:
            Path(self._temp.name).unlink(missing_ok=True)
        release_lease(self.row)

    def chunks(self) -> Iterator[bytes]:
        """The body, one chunk behind the upstream: the last chunk is only yielded once the
        whole file matched its digest and was kept."""
        assert self._temp is not None
        temp, held, total, extended = self._temp, self._first, 0, time.monotonic()
        try:
            try:
                for chunk in self._chunks:
                    if not chunk:
                        continue
                    self._write(temp, held)
                    total += len(held)
                    yield held
                    held = chunk
                    if time.monotonic() - extended > LEASE_SECONDS / 4:
                        _extend_lease(self.row)
                        extended = time.monotonic()
            except (upstream.UpstreamError, httpx.HTTPError) as exc:
                PROXY_UPSTREAM_ERRORS.labels("file").inc()
                log.warning("upstream file %s broke off: %s", self.row.url, exc)
                raise upstream.UpstreamError("the upstream broke off mid-file") from None
            self._write(temp, held)
            total += len(held)
            temp.flush()
            actual = self._digest.hexdigest()
            if actual != self.row.expected:
                record_refusal(self.row, actual)
                raise FileRefused(f"{self.row.filename}: sha256 {actual} is not the listed one")
            if self.size is not None and total != self.size:
                raise upstream.UpstreamError("the upstream sent fewer bytes than it announced")
            temp.close()
            _keep(self.row, Path(temp.name), total)
            PROXY_CACHE.labels("stored").inc()
            log.info("proxy file %s verified and kept (%d bytes)", self.row.storage_path, total)
            # The file is kept: now its provenance, if the page names one (the last chunk
            # waits for it, so a client that reads the page next sees the outcome).
            check_provenance(self.row)
            if held:
                yield held
        finally:
            self.close()

    def _write(self, temp: IO[bytes], data: bytes) -> None:
        self._digest.update(data)
        temp.write(data)
