"""Users with second factors, made through the models (the services have their own tests)."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from strongroom import ratelimit
from strongroom.mfa import recovery, secrets_box, totp
from strongroom.mfa.models import RecoveryCode, TOTPDevice
from tests.factories import PASSWORD

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def _private_rate_limit_store(settings, tmp_path):
    """A limiter store of this test's own.

    Under pytest-xdist the workers inherit one STRONGROOM_DATA_DIR from the controller,
    so they share ratelimits.sqlite3, and another worker's reset would wipe the counts
    these tests assert on.
    """
    settings.RATELIMIT_STORAGE_URL = f"sqlite://{tmp_path}/ratelimits.sqlite3"
    ratelimit.reset_backend()
    yield
    ratelimit.reset_backend()


def current_code(secret: str = SECRET, offset: int = 0) -> str:
    return totp.code_at_step(secret, totp.time_step(time.time()) + offset)


def wrong_code(secret: str = SECRET) -> str:
    valid = {current_code(secret, o) for o in range(-11, 12)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)


@pytest.fixture
def codes(user) -> list[str]:
    plain = recovery.generate_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=recovery.hash_code(c)) for c in plain]
    )
    return plain


@pytest.fixture
def totp_user(user, codes):
    TOTPDevice.objects.create(user=user, secret=secrets_box.seal(SECRET), confirmed=True)
    return user


@pytest.fixture
def half_signed_in(client: Client, totp_user) -> Client:
    response = client.post("/account/login/", {"login": totp_user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    return client
