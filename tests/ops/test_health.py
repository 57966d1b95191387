"""The health probes: /_/health/live and /_/health/ready."""

from __future__ import annotations

import json
import os
import socket

import pytest
from django.test import Client

from strongroom.storage import get_storage, reset_storage
from tests.support import require

LIVE = "/_/health/live"
READY = "/_/health/ready"


@pytest.fixture
def files_dir(settings):  # type: ignore[no-untyped-def]
    get_storage().prepare()
    return settings.FILES_DIR


def _body(response) -> dict:  # type: ignore[no-untyped-def]
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


@pytest.mark.parametrize("host", ["10.0.0.7", "evil.example", "[fe80::1]:8000"])
def test_probes_answer_whatever_host_a_load_balancer_sends(db, files_dir, settings, host):
    client = Client(HTTP_HOST=host)
    live = client.get(LIVE)
    assert live.status_code == 200
    assert _body(live) == {"status": "ok"}
    ready = client.get(READY)
    assert ready.status_code == 200, ready.content
    assert _body(ready)["failed"] == []
    expected = {"database", "migrations", "storage"} | ({"redis"} if settings.REDIS_URL else set())
    assert set(_body(ready)["checks"]) == expected


@pytest.mark.parametrize(
    "path", ["/_/health/ready/", "/_/health/readyx", "/_/health/", "/_/metrics", "/simple/"]
)
def test_only_the_two_probe_paths_skip_the_host_check(db, path):
    response = Client(HTTP_HOST="evil.example").get(path)
    assert response.status_code == 400
    assert response.reason_phrase == "Unknown host"


def test_probes_are_never_cached(db, files_dir):
    for path in (LIVE, READY):
        response = Client().get(path)
        assert response["Cache-Control"] == "no-store"
        assert "ETag" not in response
        assert not response.has_header("Set-Cookie")


def test_readiness_costs_one_query(db, files_dir, django_assert_num_queries):
    """One query whatever else is checked (Redis is a PING, storage a look-up)."""
    client = Client()
    client.get(READY)  # the first probe of a process reads the migration files
    with django_assert_num_queries(1):
        assert client.get(READY).status_code == 200


def test_a_probe_refuses_other_methods(db):
    for method in ("post", "put", "delete"):
        response = getattr(Client(), method)(READY)
        assert response.status_code == 405
        assert response["Allow"] == "GET, HEAD"


def test_missing_files_directory_fails_storage_and_says_only_that(db, settings, tmp_path):
    if settings.S3_BUCKET:
        pytest.skip("the files are in S3 on this pass")
    settings.REDIS_URL = ""
    settings.FILES_DIR = tmp_path / "never-created"
    reset_storage()
    response = Client().get(READY)
    assert response.status_code == 503
    body = _body(response)
    assert body["failed"] == ["storage"]
    assert body["checks"] == {"database": "ok", "migrations": "ok", "storage": "fail"}
    assert "never-created" not in response.content.decode()  # up or down, no detail
    assert Client().get(LIVE).status_code == 200  # the process still answers


def test_read_only_files_directory_fails_storage(db, files_dir, settings):
    if settings.S3_BUCKET:
        pytest.skip("the files are in S3 on this pass")
    import subprocess

    from tests.support import unmount

    # Root writes through permission bits, but not into a file system mounted read-only.
    if os.geteuid() == 0:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(files_dir)],
            capture_output=True,
            check=False,
        )
        require(mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr.decode()}")
    else:
        files_dir.chmod(0o500)
    try:
        response = Client().get(READY)
    finally:
        if os.geteuid() == 0:
            unmount(files_dir)
        else:
            files_dir.chmod(0o700)
    assert response.status_code == 503
    assert _body(response)["failed"] == ["storage"]


def test_an_unapplied_migration_fails_readiness(db, files_dir):
    from django.db import connection

    from strongroom.ops.health import expected_migrations

    app, name = sorted(expected_migrations())[0]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])
    response = Client().get(READY)
    assert response.status_code == 503
    assert _body(response)["failed"] == ["migrations"]
    assert _body(response)["checks"]["database"] == "ok"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_caches(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "strongroom.web.cache.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


def test_unreachable_redis_fails_readiness_naming_redis(db, files_dir, settings):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = _redis_caches(url)
    response = Client().get(READY)
    assert response.status_code == 503
    assert _body(response)["failed"] == ["redis"]


def test_reachable_redis_is_checked_and_passes(db, files_dir, settings):
    url = os.environ.get("STRONGROOM_REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
    except OSError:
        require(False, "Redis is not reachable at 127.0.0.1:6379")
    settings.REDIS_URL = url
    settings.CACHES = _redis_caches(url)
    response = Client().get(READY)
    assert response.status_code == 200, response.content
    assert _body(response)["checks"]["redis"] == "ok"


def test_unreachable_object_storage_fails_readiness_naming_storage(db, settings):
    settings.FILE_STORAGE_BACKEND = "strongroom.storage.s3.S3Storage"
    settings.S3_BUCKET = "files"
    settings.S3_PREFIX = ""
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{_closed_port()}"
    settings.S3_ACCESS_KEY_ID = "key"
    settings.S3_SECRET_ACCESS_KEY = "secret"
    settings.REDIS_URL = ""
    reset_storage()
    response = Client().get(READY)
    assert response.status_code == 503
    assert _body(response)["failed"] == ["storage"]
    assert _body(response)["checks"]["database"] == "ok"
