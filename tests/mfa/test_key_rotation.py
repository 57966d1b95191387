"""TOTP secrets across a secret-key rotation: opened with the fallback and re-sealed with
the new key on use; without the fallback the login is refused with a clear sentence."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet

from strongroom.mfa import secrets_box
from strongroom.mfa.models import TOTPDevice
from tests.factories import PASSWORD
from tests.mfa.conftest import SECRET, current_code

pytestmark = pytest.mark.django_db
OLD = "old-secret-key-" * 4
NEW = "new-secret-key-" * 4


def _login(client, user):
    response = client.post("/account/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    return client.post("/account/two-factor/", {"code": current_code()})


def _device(user, sealed):
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, secret=sealed, confirmed=True)


def test_totp_login_works_after_rotation_and_reseals_with_the_new_key(settings, client, user):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    device = _device(user, secrets_box.seal(SECRET))
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert not secrets_box.is_current(device.secret)
    assert _login(client, user).status_code == 302
    device.refresh_from_db()
    assert secrets_box.is_current(device.secret)
    settings.SECRET_KEY_FALLBACKS = []
    assert secrets_box.unseal(device.secret) == SECRET


def test_without_the_old_key_the_totp_login_fails_closed(settings, client, user):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    _device(user, secrets_box.seal(SECRET))
    settings.SECRET_KEY = NEW
    response = _login(client, user)
    assert response.status_code == 400
    assert "secret key changed" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_secrets_sealed_before_the_upgrade_still_open(settings, client, user):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD, []
    key = hashlib.sha256(b"strongroom.mfa.totp-secret.v1:" + OLD.encode()).digest()
    legacy = Fernet(base64.urlsafe_b64encode(key)).encrypt(SECRET.encode()).decode()
    device = _device(user, legacy)
    assert secrets_box.unseal(legacy) == SECRET
    assert _login(client, user).status_code == 302
    device.refresh_from_db()
    assert secrets_box.is_current(device.secret)
