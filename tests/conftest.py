"""Shared fixtures: users, signed-in clients, a clean rate-limit store."""

from __future__ import annotations

import os
import shutil

import pytest
from django.test import Client

from strongroom import ratelimit
from tests.factories import PASSWORD, UserFactory


def require(condition: bool, reason: str) -> None:
    """Skip (or on CI, fail) a test whose external requirement is missing."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_rate_limits() -> None:
    ratelimit.reset_backend()
    backend = ratelimit._backend()
    backend.limiter.storage.reset()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _private_file_store(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Each test gets its own package files, upload temp dir and an empty page cache."""
    from django.core.cache import cache

    from strongroom.storage import reset_storage

    settings.FILES_DIR = tmp_path / "files"
    settings.UPLOAD_TEMP_DIR = tmp_path / "upload-tmp"
    reset_storage()
    cache.clear()
    yield
    reset_storage()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def signed_in(client: Client, user):  # type: ignore[no-untyped-def]
    """A test client signed in as ``user`` through the real login form."""
    response = client.post(
        "/account/login/",
        {"login": user.username, "password": PASSWORD},
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    require(os.path.exists(path), "Chromium is not installed (apt-get install chromium)")
    return path
