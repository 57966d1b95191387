"""A ``limits`` storage on a SQLite file, so embedded mode shares counts across processes.

Only the moving-window strategy is supported, which is the only one Strongroom uses.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at);
"""
# Entries older than this are of no use to any window we define.
_MAX_WINDOW_SECONDS = 2 * 86400


class SQLiteStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: object):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        if not uri or not uri.startswith("sqlite://"):
            raise ValueError("SQLiteStorage needs a sqlite:///path URI")
        self.path = Path(uri.removeprefix("sqlite://"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = time.time()
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM hits WHERE key = ? AND at > ?", (key, now - expiry)
            ).fetchone()
            if count + amount > limit:
                db.execute("ROLLBACK")
                return False
            db.executemany("INSERT INTO hits (key, at) VALUES (?, ?)", [(key, now)] * amount)
            if random.random() < 0.01:
                db.execute("DELETE FROM hits WHERE at < ?", (now - _MAX_WINDOW_SECONDS,))
            db.execute("COMMIT")
            return True
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def release_entry(self, key: str) -> None:
        """Remove the newest entry of ``key`` (a slot given back)."""
        self._db().execute(
            "DELETE FROM hits WHERE rowid ="
            " (SELECT rowid FROM hits WHERE key = ? ORDER BY at DESC LIMIT 1)",
            (key,),
        )

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        oldest, count = (
            self._db()
            .execute(
                "SELECT MIN(at), COUNT(*) FROM (SELECT at FROM hits WHERE key = ? AND at > ?"
                " ORDER BY at DESC LIMIT ?)",
                (key, now - expiry, limit),
            )
            .fetchone()
        )
        return (oldest if oldest is not None else now, count)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("only the moving-window strategy is supported")

    def get(self, key: str) -> int:
        (count,) = self._db().execute("SELECT COUNT(*) FROM hits WHERE key = ?", (key,)).fetchone()
        return int(count)

    def get_expiry(self, key: str) -> float:
        (latest,) = self._db().execute("SELECT MAX(at) FROM hits WHERE key = ?", (key,)).fetchone()
        return float(latest or time.time()) + _MAX_WINDOW_SECONDS

    def check(self) -> bool:
        self._db().execute("SELECT 1").fetchone()
        return True

    def reset(self) -> int | None:
        cursor = self._db().execute("DELETE FROM hits")
        return cursor.rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM hits WHERE key = ?", (key,))
