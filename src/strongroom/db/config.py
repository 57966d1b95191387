"""The ``DATABASES`` and ``CACHES`` entries settings.py builds: PostgreSQL from a URL or
the embedded SQLite file; Redis or a per-process cache. Pure functions of their
arguments: settings.py reads the environment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse


def postgresql_database(
    url: str, *, connect_timeout: int = 3, statement_timeout: int = 10
) -> dict[str, object]:
    """A postgresql:// URL as a Django database entry with the outage bounds set."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError("STRONGROOM_DATABASE_URL must be a postgresql:// URL")
    return {
        "ENGINE": "strongroom.db.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "connect_timeout": connect_timeout,
            "options": f"-c statement_timeout={statement_timeout * 1000}",
        },
        # A few seconds more than the statement timeout, so the server normally cancels.
        "REPLY_TIMEOUT": statement_timeout + 5,
    }


def sqlite_database(path: Path) -> dict[str, object]:
    """The embedded database: one SQLite file in WAL mode."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # WAL lets readers proceed while one writer commits; IMMEDIATE takes the
            # write lock at BEGIN so two writers queue instead of deadlocking.
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
        # Opening SQLite and running the PRAGMAs took a fifth of a simple-page request.
        "CONN_MAX_AGE": None,
    }


def redis_cache(url: str, prefix: str, timeout: float) -> dict[str, object]:
    """The shared cache on Redis. Redis errors are logged and treated as misses, so a Redis
    outage slows the read path down instead of breaking it."""
    return {
        "BACKEND": "strongroom.web.cache.ResilientRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": prefix,
        "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
    }
