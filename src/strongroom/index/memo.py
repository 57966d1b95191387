"""Simple pages kept in the worker's memory, never served stale.

The pages are rendered at write time and stored in the database (``prerender``); reading
one back costs a query that carries the whole body. A worker keeps the answers it gave
and, before reusing one, proves that it is still current:

* on SQLite, by ``PRAGMA data_version`` on a connection of its own: the number changes
  whenever any other connection (any worker, the CLI) commits. Unchanged since the answer
  was stored means nothing at all was written since, so the answer stands without a query.
* otherwise (PostgreSQL, or after an unrelated write on SQLite), by the page's ETag read
  from the database without the body: the ETag holds the project's serial, which every
  change to the page bumps in the same transaction.

The version is always read *before* the query that fills or validates an entry, so an
entry can only be stamped with a version older than its content, never newer.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from django.db import connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Answer:
    """One stored answer: its ETag and Last-Modified, and the bytes of a 200."""

    etag: str
    last_modified: str | None
    content_type: str
    body: bytes
    # The database version seen before the query that read or validated it (None: no
    # version probe, always validate).
    version: int | None
    # The content coding of ``body`` (None: identity) and the Surrogate-Key header value.
    coding: str | None = None
    keys: str = ""
    # A monotonic time after which the answer must be read again even though nothing was
    # written (a proxied upstream page past its max age or cooldown step); None: never.
    expires: float | None = None
    # /simple/ from a previous root while the stored one is fetched (index.root): sent
    # with caching.UNCACHED, and never kept in the memo.
    previous: bool = False


class DataVersion:
    """SQLite's ``PRAGMA data_version`` on a private connection, opened per process.

    The value is only comparable with itself, so one connection serves every thread of
    the process (a lock around a statement of a few microseconds).
    """

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._pid = 0
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> int | None:
        """The current version, or None when it cannot be read (validate instead)."""
        with self._lock:
            try:
                if self._conn is None or self._pid != os.getpid():
                    # A connection inherited through fork belongs to the parent.
                    self._conn = sqlite3.connect(
                        f"file:{self.path}?mode=rw",
                        uri=True,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                    self._pid = os.getpid()
                row = self._conn.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error as exc:
                logger.warning("simple page memo: data_version unreadable (%s)", exc)
                self._conn = None
                return None
        return int(row[0])


def version_probe() -> DataVersion | None:
    """The probe for the configured database, or None where there is none."""
    if connection.vendor != "sqlite":
        return None
    is_in_memory = getattr(connection, "is_in_memory_db", None)
    if is_in_memory is None or is_in_memory():
        # A private connection would open another, empty database.
        return None
    return DataVersion(str(connection.settings_dict["NAME"]))


class _HasBody(Protocol):
    @property
    def body(self) -> bytes: ...


Key = TypeVar("Key", bound=Hashable)
Entry = TypeVar("Entry", bound=_HasBody)


class PageMemo(Generic[Key, Entry]):
    """Entries holding a page ``body`` by key, least recently used dropped past
    ``max_bytes`` of bodies: the fast path's answers by (path, media type, content coding),
    and index.private_fast's by token and project."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._size

    def get(self, key: Key) -> Entry | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: Key, answer: Entry) -> None:
        if len(answer.body) > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._entries[key] = answer
            self._size += len(answer.body)
            while self._size > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.body)
