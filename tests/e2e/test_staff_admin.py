"""Issue 21, item 13, end to end: an administrator made by ``strongroom createadmin`` (no
second factor) is refused the admin until it enrols one, on a real server."""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from strongroom.mfa import totp
from tests.e2e.server import LiveServer, run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-unusual-pass-97"


class Browser:
    """A cookie-keeping HTTP client that sends each form's CSRF token back."""

    def __init__(self, server: LiveServer):
        self.base = server.base_url
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def submit(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        _status, page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token.group(1)})
        request = urllib.request.Request(
            self.base + path, data=data.encode(), headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def test_createadmin_must_enrol_a_second_factor_before_the_admin(
    strongroom_server: LiveServer,
) -> None:
    server = strongroom_server
    made = run_cli(
        "createadmin", "--username", "root", "--email", "root@example.org", "--password-stdin",
        data_dir=server.data_dir, stdin=PASSWORD + "\n", env=server.env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    browser = Browser(server)
    status, _page = browser.submit("/account/login/", {"login": "root", "password": PASSWORD})
    assert status == 200  # followed the redirect to the account page
    for path in ["/admin/records/", "/admin/records/packages/release/", "/manage/audit/"]:
        status, page = browser.get(path)
        assert status == 403, path
        assert "Staff pages need a second factor, and your account has none" in page
    _status, page = browser.get("/manage/account/totp-provision")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page)
    assert secret, page[:500]
    code = totp.code_at_step(secret.group(1), totp.time_step(time.time()))
    status, page = browser.submit("/manage/account/totp-provision", {"code": code})
    assert status == 200 and "recovery" in page.lower()
    status, page = browser.get("/admin/records/")
    assert status == 200 and "Site administration" in page
    assert browser.get("/manage/audit/")[0] == 200
    # A new client that signs in with the password alone stops at the second step.
    other = Browser(server)
    status, page = other.submit("/account/login/", {"login": "root", "password": PASSWORD})
    assert status == 200 and "Authenticator app" in page
    assert other.get("/manage/audit/")[0] == 404  # half signed in is not signed in
