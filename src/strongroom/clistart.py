"""What every ``strongroom`` command does first: point settings at the data dir, start
Django, apply migrations (nodes starting together take turns)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = "./strongroom-data"


def setup(data_dir: str) -> None:
    """Point settings at the data dir, then start Django."""
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["STRONGROOM_DATA_DIR"] = str(path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()


# pg_advisory_lock key shared by every node: "strongroom migrate" as a 64-bit number.
MIGRATION_LOCK_KEY = 0x5354_524F_4E47_4D47 & 0x7FFF_FFFF_FFFF_FFFF


def migrate(verbosity: int = 0) -> None:
    """Apply migrations; on PostgreSQL, nodes starting together take turns.

    ``serve`` migrates on start, so several nodes may try at once: a session-level
    advisory lock makes the others wait, then find nothing left to apply.
    """
    from django.core.management import call_command
    from django.db import OperationalError, connection

    try:
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=verbosity)
            return
        with connection.cursor() as cursor:
            # Waiting for another node's migration, or rewriting a big table, may take
            # longer than a request's statement timeout (settings.DATABASE_STATEMENT_TIMEOUT).
            cursor.execute("SET statement_timeout = 0")
            driver = connection.connection
            reply_timeout = getattr(driver, "reply_timeout", None)
            if reply_timeout is not None:
                driver.reply_timeout = None
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            call_command("migrate", interactive=False, verbosity=verbosity)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
                cursor.execute("RESET statement_timeout")
            if reply_timeout is not None:
                driver.reply_timeout = reply_timeout
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(f"error: the database cannot be reached: {first_line}") from None
