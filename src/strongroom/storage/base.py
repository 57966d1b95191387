"""The storage interface every backend implements."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import BinaryIO


class Storage(abc.ABC):
    """Where package files live. Paths are relative, ``/``-separated, and never contain ``..``."""

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
        """The URL clients download ``path`` from."""


def is_safe_path(path: str) -> bool:
    """True for a relative path without empty, ``.`` or ``..`` segments."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in {"", ".", ".."} for part in path.split("/"))
