"""Issue 21, item 9: every page that shows a secret is ``Cache-Control: no-store``."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver

from strongroom.mfa import totp
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def assert_secret_kept_out_of_caches(response, secret: str) -> None:
    assert secret and secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def _totp_secret(page: str) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', page).group(1)


def test_totp_set_up_page_and_its_retry_are_not_stored(signed_in):
    page = signed_in.get("/manage/account/totp-provision")
    secret = _totp_secret(page.content.decode())
    assert_secret_kept_out_of_caches(page, secret)
    # The QR code is inline (a data: URI), so it goes with the page, never on its own URL.
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()
    wrong = signed_in.post("/manage/account/totp-provision", {"code": "000000"})
    assert wrong.status_code == 400
    assert_secret_kept_out_of_caches(wrong, secret)


def test_recovery_codes_page_is_not_stored(signed_in, django_capture_on_commit_callbacks):
    secret = _totp_secret(signed_in.get("/manage/account/totp-provision").content.decode())
    code = totp.code_at_step(secret, totp.time_step(time.time()))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/manage/account/totp-provision", {"code": code})
    page = signed_in.get("/manage/account/recovery-codes/")
    first = re.search(r"<li><code>([0-9a-f-]{19})</code></li>", page.content.decode()).group(1)
    assert_secret_kept_out_of_caches(page, first)


def test_new_token_page_is_not_stored(signed_in):
    page = signed_in.post(
        "/manage/account/token/", {"name": "ci", "scope": "account", "expiry": "90"}
    )
    assert page.status_code == 200
    raw = re.search(rf"{settings.TOKEN_PREFIX}[A-Za-z0-9_-]+", page.content.decode()).group(0)
    assert_secret_kept_out_of_caches(page, raw)


def test_pages_at_one_time_links_are_not_stored(user, signed_in, mailoutbox):
    Client().post("/account/reset-password/", {"login": user.email})
    reset = re.search(r"/account/reset-password/[^/\s]+/[^/\s]+/", mailoutbox[-1].body).group(0)
    page = Client().get(reset)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"

    signed_in.post("/manage/account/emails/", {"action": "add", "email": "alice2@example.org"})
    bodies = "\n".join(m.body for m in mailoutbox)
    token = re.search(r"/account/verify-email/\?token=([^\s\"<]+)", bodies).group(1)
    page = Client().get("/account/verify-email/", {"token": token})
    assert_secret_kept_out_of_caches(page, token)


def test_every_secret_view_uses_the_one_mechanism():
    """The URL map: these views (and no hand-set header elsewhere) keep secrets uncached."""
    marked = set()
    for pattern in get_resolver().url_patterns:
        for sub in getattr(pattern, "url_patterns", [pattern]):
            callback = getattr(sub, "callback", None)
            if getattr(callback, "shows_secret", False):
                marked.add(f"{callback.__module__}.{callback.__name__}")
    assert {
        "strongroom.mfa.views.totp_provision",
        "strongroom.mfa.views.recovery_codes",
        "strongroom.tokens.views.create",
        "strongroom.accounts.views.reset_password",
        "strongroom.accounts.views.verify_email",
    } <= marked


def test_password_form_is_unaffected(client):
    # Pages without secrets keep their normal caching (no blanket no-store).
    page = client.get("/account/login/")
    assert "no-store" not in page.get("Cache-Control", "")
    assert PASSWORD not in page.content.decode()
