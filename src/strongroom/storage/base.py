"""The storage interface every backend implements."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import BinaryIO


class StorageUnavailable(Exception):
    """The storage could not be reached or refused to work; callers answer 503."""


class Storage(abc.ABC):
    """Where package files live. Paths are relative, ``/``-separated, and never contain ``..``.

    Any method may raise :class:`StorageUnavailable` when the store is down.
    """

    def prepare(self) -> None:
        """Create what the store needs before the first write (``serve`` calls it)."""
        return None

    @abc.abstractmethod
    def save(self, path: str, source: Path | bytes) -> None:
        """Stage ``source`` (a local file, which is consumed, or bytes) to appear at ``path``
        once the current database transaction commits."""

    @abc.abstractmethod
    def discard_staged(self) -> None:
        """Remove everything this thread staged that has not been committed yet."""

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
