"""The storage interface every backend implements."""

from __future__ import annotations

import abc
import errno
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO


class StorageUnavailable(Exception):
    """The storage could not be reached or refused to work; callers answer 503."""


class StorageFull(StorageUnavailable):
    """The storage has no room left (no space, no inode, a quota); callers answer 507."""


# The errors that mean "no room": a full disk, no free inode, a quota, a size limit.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def storage_error(error: OSError) -> StorageUnavailable:
    """The storage exception for a local ``OSError``: full, or otherwise unavailable."""
    if error.errno in NO_ROOM:
        return StorageFull(str(error))
    return StorageUnavailable(str(error))


@dataclass
class RepairReport:
    """What :meth:`Storage.repair` did: paths published, staged entries removed."""

    published: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Storage(abc.ABC):
    """Where package files live. Paths are relative, ``/``-separated, and never contain ``..``.

    Any method may raise :class:`StorageUnavailable` when the store is down.

    Writes happen in two steps. ``stage`` copies the bytes to a staging place (the slow
    part, done before any database transaction) and remembers the final path beside
    them; ``publish_on_commit``, called inside the transaction that records the file,
    moves everything this thread staged into place once that transaction commits. A
    rolled-back transaction's staged copies are removed by ``discard_staged``. After the
    commit nothing is ever deleted: a publication that fails keeps its staged copy, is
    reported by ``take_unpublished`` and is finished later by ``repair``.
    """

    # True when other servers write to the same store (their uploads may be in flight).
    shared = False

    def prepare(self) -> None:
        """Create what the store needs before the first write (``serve`` calls it)."""
        return None

    def check(self) -> None:
        """One cheap round trip proving the store answers (the readiness probe calls it
        every second or so); raises :class:`StorageUnavailable` when it does not."""
        self.exists(".strongroom-health")

    @abc.abstractmethod
    def stage(self, path: str, source: Path | bytes) -> None:
        """Copy ``source`` (a local file, which is consumed, or bytes) to a staging place,
        to appear at ``path`` once ``publish_on_commit``'s transaction commits. Raises
        :class:`StorageFull` when there is no room, leaving nothing partial behind."""

    @abc.abstractmethod
    def publish_on_commit(self) -> None:
        """Publish what this thread staged when the current transaction commits."""

    @abc.abstractmethod
    def discard_staged(self) -> None:
        """Remove everything this thread staged that has not been committed yet."""

    def take_unpublished(self) -> list[str]:
        """Paths committed by this thread whose publication failed (kept for ``repair``);
        forgets them."""
        return []

    @abc.abstractmethod
    def repair(self, is_committed: Callable[[str], bool], staged_before: float) -> RepairReport:
        """Finish what a crash or an outage left in staging.

        A staged copy whose final path ``is_committed`` is published; one that is not
        committed, or a partial copy, is removed when it was written before
        ``staged_before`` (a Unix time: older than any upload still in flight).
        """

    def save(self, path: str, source: Path | bytes) -> None:
        """``stage`` and ``publish_on_commit`` at once (inside a transaction)."""
        self.stage(path, source)
        self.publish_on_commit()

    @abc.abstractmethod
    def open(self, path: str) -> BinaryIO:
        """A readable binary file; raises FileNotFoundError when absent."""

    @abc.abstractmethod
    def size(self, path: str) -> int:
        """The stored size in bytes; raises FileNotFoundError when absent."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool: ...

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Remove ``path`` once the current transaction commits (at once outside one)."""

    @abc.abstractmethod
    def list_paths(self) -> Iterator[tuple[str, int]]:
        """Every published object as (path, size in bytes), staged copies excluded."""

    def copy_to(self, path: str, destination: Path) -> None:
        """Write ``path``'s bytes to the local file ``destination`` (a new file; a hard link
        where the backend can); raises FileNotFoundError when absent."""
        handle = self.open(path)
        try:
            with destination.open("xb") as out:
                shutil.copyfileobj(handle, out, 1024 * 1024)
        finally:
            handle.close()

    @abc.abstractmethod
    def url(self, path: str) -> str:
        """The URL index pages link ``path`` with (a path on this site, or a CDN URL)."""

    def open_sized(self, path: str) -> tuple[BinaryIO, int]:
        """``open`` and ``size`` together (a backend may answer both with one request)."""
        handle = self.open(path)
        try:
            return handle, self.size(path)
        except BaseException:
            handle.close()
            raise

    def redirect_url(self, path: str) -> str | None:
        """Where a download of ``path`` is redirected to, or None to stream it here."""
        return None


def is_safe_path(path: str) -> bool:
    """True for a relative path without empty, ``.`` or ``..`` segments."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in {"", ".", ".."} for part in path.split("/"))
