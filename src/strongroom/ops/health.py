"""What ``/_/health/ready`` checks: each component a request needs, up or down.

Each check is one cheap round trip (a query, a Redis PING, a storage look-up), so a load
balancer may call the probe every second. A check never raises: it answers True or False
and logs why it failed; the probe reveals only up or down per component.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# The migrations the code on disk expects applied: read once per process (it reads every
# migration file), compared with the database's record on every probe.
_expected_migrations: frozenset[tuple[str, str]] | None = None


def expected_migrations() -> frozenset[tuple[str, str]]:
    """The last migration of each app, as ``(app, name)`` pairs."""
    global _expected_migrations
    if _expected_migrations is None:
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        _expected_migrations = frozenset(loader.graph.leaf_nodes())
    return _expected_migrations


def applied_migrations() -> set[tuple[str, str]]:
    """The migrations the database records as applied (raises DatabaseError when down)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return {(str(app), str(name)) for app, name in cursor.fetchall()}


def _applied_on_a_live_connection() -> set[tuple[str, str]]:
    """The applied migrations; a failure on a connection opened before is retried once on
    a new one, so a connection left broken by an outage that has ended (a database
    restart, a failover) does not report the database down."""
    reused = connection.connection is not None
    try:
        return applied_migrations()
    except DatabaseError:
        # A broken connection must never be reused, by this probe or the next.
        connection.close()
        if not reused:
            raise
    try:
        return applied_migrations()
    except DatabaseError:
        connection.close()
        raise


def check_storage() -> bool:
    from strongroom.storage import get_storage
    from strongroom.storage.base import StorageUnavailable

    try:
        get_storage().check()
    except (StorageUnavailable, OSError) as exc:
        logger.warning("readiness: the file storage is unavailable: %s", exc)
        return False
    return True


def check_redis() -> bool:
    from django.core.cache import caches
    from redis.exceptions import RedisError

    try:
        client = caches["default"]._cache.get_client(write=True)  # type: ignore[attr-defined]
        client.ping()
    except (RedisError, OSError) as exc:
        logger.warning("readiness: Redis is unavailable: %s", exc)
        return False
    return True


def readiness() -> dict[str, bool]:
    """Each component's state: ``database``, ``migrations``, ``storage`` and, when
    configured, ``redis``. Migrations count as not applied while the database is down."""
    states: dict[str, bool] = {}
    try:
        applied = _applied_on_a_live_connection()
    except DatabaseError as exc:
        logger.warning("readiness: the database is unavailable: %s", exc)
        states["database"] = False
        states["migrations"] = False
    else:
        states["database"] = True
        missing = expected_migrations() - applied
        if missing:
            logger.warning("readiness: migrations not applied: %s", sorted(missing))
        states["migrations"] = not missing
    checks: dict[str, Callable[[], bool]] = {"storage": check_storage}
    if settings.REDIS_URL:
        checks["redis"] = check_redis
    for name, check in checks.items():
        states[name] = check()
    return states
