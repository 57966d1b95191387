"""What clients see when a service is down: a plain 503, never a traceback or a 500.

These simulate outages without stopping anything: the storage, the database or Redis
is pointed at a closed port. They run on both CI configurations.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import Client

from strongroom import ratelimit
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.storage import reset_storage
from tests.conftest import log_in
from tests.distributions import basic_auth, post_upload, upload_form, upload_token
from tests.e2e.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture
def storage_down(settings, closed_port):  # type: ignore[no-untyped-def]
    settings.FILE_STORAGE_BACKEND = "strongroom.storage.s3.S3Storage"
    settings.S3_BUCKET = "unreachable"
    settings.S3_PREFIX = "x"
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{closed_port}"
    settings.S3_ACCESS_KEY_ID = "key"
    settings.S3_SECRET_ACCESS_KEY = "secret"
    reset_storage()
    yield
    reset_storage()


def test_upload_while_storage_is_down_is_a_503_and_leaves_no_row(client, user, storage_down):
    response = post_upload(client, upload_form())
    assert response.status_code == 503
    assert "file storage is unavailable" in response.reason_phrase
    assert "file storage is unavailable" in response.content.decode()
    assert not Project.objects.exists() and not Release.objects.exists()
    assert not File.objects.exists() and not UsedFilename.objects.exists()


def test_download_while_storage_is_down_is_a_plain_503(storage_down):
    client = Client(raise_request_exception=False)
    response = client.get(f"/packages/ab/cd/{'a' * 64}/x-1.0.tar.gz")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"file storage cannot be reached" in response.content
    assert b"Traceback" not in response.content


def take_database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every query fails from now on, as it does when PostgreSQL has gone away."""
    from django.db.backends.utils import CursorWrapper

    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/simple/"),
        ("get", "/simple/sample/"),
        ("get", "/pypi/sample/json"),
        ("get", "/account/login/"),
        ("post", "/account/login/"),
        ("get", "/manage/account/"),
    ],
)
def test_every_path_answers_503_while_the_database_is_down(
    signed_in, monkeypatch, caplog, method, path
):  # type: ignore[no-untyped-def]
    """A signed-in visitor (whose session must be read) gets a 503 everywhere."""
    client = signed_in
    client.raise_request_exception = False
    take_database_down(monkeypatch)
    with caplog.at_level(logging.WARNING):
        response = getattr(client, method)(path)
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert response["Retry-After"]
    assert response.content.decode().startswith("Service unavailable: the database")
    assert not [r for r in caplog.records if r.exc_info], "no traceback in the log"


def test_upload_api_answers_503_with_a_reason_while_the_database_is_down(monkeypatch, user):
    token = upload_token(user.username)
    take_database_down(monkeypatch)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/legacy/", upload_form(), HTTP_AUTHORIZATION=basic_auth("__token__", token)
    )
    assert response.status_code == 503
    assert response.reason_phrase.startswith("Service unavailable: the database")


@pytest.fixture
def redis_down(settings, closed_port):  # type: ignore[no-untyped-def]
    url = f"redis://127.0.0.1:{closed_port}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "strongroom.web.cache.ResilientRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.RATELIMIT_STORAGE_URL = url
    settings.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    ratelimit.reset_backend()
    yield
    ratelimit.reset_backend()


def test_login_limits_hold_in_process_while_redis_is_down(
    client, user, password, redis_down, caplog
):  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="strongroom"):
        for _attempt in range(10):
            response = client.post(
                "/account/login/", {"login": "alice", "password": "wrong-password"}
            )
            assert response.status_code == 400
        limited = log_in(client, "alice", password)
    assert limited.status_code == 429, "never fail open to no limit"
    assert any("rate-limit store unavailable" in r.getMessage() for r in caplog.records)


def test_sign_in_and_the_index_keep_working_while_redis_is_down(client, user, password, redis_down):  # type: ignore[no-untyped-def]
    assert log_in(client, "alice", password).status_code == 302
    assert client.get("/manage/account/").status_code == 200  # session from the database
    assert client.get("/simple/", HTTP_ACCEPT="text/html").status_code == 200
