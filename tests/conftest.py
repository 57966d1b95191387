"""Shared fixtures: users, signed-in clients, a clean rate-limit store."""

from __future__ import annotations

import os
import shutil
import time
import uuid

import pytest
from django.test import Client

from strongroom import ratelimit
from strongroom.accounts.services import SESSION_AUTH_AT_KEY
from tests.e2e.browser import browser  # noqa: F401  (one Chromium per test process)
from tests.factories import PASSWORD, UserFactory
from tests.support import require

pytest_plugins = ["tests.emitted_tags"]


@pytest.fixture(autouse=True)
def _clean_rate_limits() -> None:
    ratelimit.reset_backend()
    backend = ratelimit._backend()
    backend.reset()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _private_file_store(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Each test gets its own package files (a folder, or an S3 prefix), upload temp
    dir and an empty page cache."""
    from django.core.cache import cache

    from strongroom.index import root
    from strongroom.index.views import forget_index_memo
    from strongroom.storage import reset_storage

    settings.FILES_DIR = tmp_path / "files"
    if settings.S3_BUCKET:
        settings.S3_PREFIX = f"{settings.S3_PREFIX}/{uuid.uuid4().hex[:12]}"
    settings.UPLOAD_TEMP_DIR = tmp_path / "upload-tmp"
    reset_storage()
    cache.clear()
    forget_index_memo()
    yield
    # A render of /simple/ (index.root) still running in its background thread would
    # store this test's root after the database is flushed, over the next test's: a
    # stored root at a higher serial than the next test ever reaches is never replaced.
    root.wait_for_render()
    root.wait_for_fetch()
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


def log_in(client: Client, login: str, password: str = PASSWORD, **extra: object):  # type: ignore[no-untyped-def]
    """Log ``client`` in through the real form; return the response."""
    return client.post("/account/login/", {"login": login, "password": password}, **extra)


def signed_in_with_second_factor(user) -> Client:  # type: ignore[no-untyped-def]
    """A client signed in as ``user`` through the real password form and second step.

    The account gets an authenticator app if it has no second factor; the step is passed
    with a fresh recovery code, so a test may sign the same account in many times.
    """
    from strongroom.mfa import recovery, secrets_box
    from strongroom.mfa.models import RecoveryCode, TOTPDevice
    from strongroom.mfa.services.queries import has_second_factor

    if not has_second_factor(user):
        secret = secrets_box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        TOTPDevice.objects.create(user=user, secret=secret, confirmed=True)
    code = recovery.generate_codes()[0]
    RecoveryCode.objects.create(user=user, code_hash=recovery.hash_code(code))
    client = Client()
    response = log_in(client, user.username)
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    response = client.post("/account/recovery-code/", {"recovery_code": code})
    assert response.status_code == 302, response.content
    return client


def make_auth_stale(client: Client, seconds: float = 16 * 60) -> None:
    """Pretend the client's last password entry was ``seconds`` ago."""
    session = client.session
    session[SESSION_AUTH_AT_KEY] = time.time() - seconds
    session.save()


def messages_for(address: str, outbox: list) -> list:  # type: ignore[type-arg]
    return [m for m in outbox if address in m.to]


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    require(os.path.exists(path), "Chromium is not installed (apt-get install chromium)")
    return path
