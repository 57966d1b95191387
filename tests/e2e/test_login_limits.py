"""Login failure limits hold across worker processes (issue 2, item 5); a burst never
gets more checks than a limit, and one account's failures never lock out another
(issue 21, items 6 and 7)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from tests.e2e.server import LiveServer, running_server
from tests.support import require

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-unusual-pass-97"
LIMITED = "Too many failed sign-ins for this account from your network. Try again in 5 minutes."


@dataclass
class Answer:
    status: int
    body: str
    headers: Message  # header names are case-insensitive (granian sends them lower-case)
    url: str = ""  # where the answer came from, after redirects


def attempt(server: LiveServer, n: int, password: str, accept: str = "*/*") -> Answer:
    """One login from a fresh client (its own cookies and connection), tagged ``?n=N``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(server.base_url + "/account/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode(
        {"login": "alice", "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(
        f"{server.base_url}/account/login/?n={n}",
        data=data,
        headers={"Accept": accept, "Referer": server.base_url + "/account/login/"},
    )
    try:
        with opener.open(request) as response:
            return Answer(response.status, response.read().decode(), response.headers)
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read().decode(), exc.headers)


def answering_pids(server: LiveServer) -> dict[int, str]:
    """Which worker process answered each tagged login POST."""
    found = re.findall(r'"POST /account/login/\?n=(\d+) [^"]*" .*pid=<(\d+)>', server.log_text())
    return {int(n): pid for n, pid in found}


def test_eleventh_failure_is_limited_whichever_worker_answers(each_server: LiveServer) -> None:
    server = each_server
    server.create_user("alice", "alice@example.org", PASSWORD)

    failures = [attempt(server, n, "wrong-password-1") for n in range(10)]
    assert [a.status for a in failures] == [400] * 10
    assert all("The username or password is not correct." in a.body for a in failures)

    # Now every worker must refuse, even the right password. Ask from many clients at
    # once until both workers have answered, so the shared store is what decides.
    limited: list[Answer] = []
    n = 10
    for _round in range(10):
        with ThreadPoolExecutor(max_workers=6) as pool:
            limited += pool.map(lambda i: attempt(server, i, PASSWORD), range(n, n + 6))
        n += 6
        pids = {pid for i, pid in answering_pids(server).items() if i >= 10}
        if len(pids) >= 2:
            break
    assert len(pids) == 2, "both workers should have answered"
    assert {a.status for a in limited} == {429}
    for answer in limited:
        assert answer.body.strip() == LIMITED
        assert 0 < int(answer.headers["Retry-After"]) <= 300

    # A browser sees the sentence on the login page.
    page = attempt(server, 999, PASSWORD, accept="text/html")
    assert page.status == 429
    assert LIMITED in page.body
    assert "<form" in page.body
    assert "Traceback" not in server.log_text()


# --- issue 21, items 6 and 7: bursts, and other accounts behind the same address ---------

WRONG = "The username or password is not correct."
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Visitor:
    """One browser: its own cookies; the CSRF token read from the login page."""

    def __init__(self, server: LiveServer):
        self.server = server
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = self.opener.open(server.base_url + "/account/login/").read().decode()
        self.token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    def post(self, path: str, **fields: str) -> Answer:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.token}).encode()
        request = urllib.request.Request(
            self.server.base_url + path,
            data=data,
            headers={"Accept": "*/*", "Referer": self.server.base_url + "/account/login/"},
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                body = response.read().decode()
                return Answer(response.status, body, response.headers, response.geturl())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode(), exc.headers)


def burst(visitors: list[Visitor], send: Callable[[Visitor], Answer]) -> list[Answer]:
    """Every visitor sends at the same moment, each from its own thread."""
    start = threading.Barrier(len(visitors))

    def go(visitor: Visitor) -> Answer:
        start.wait()
        return send(visitor)

    with ThreadPoolExecutor(max_workers=len(visitors)) as pool:
        return list(pool.map(go, visitors))


def failures_recorded(server: LiveServer) -> int:
    rows = server.execute_sql(
        "SELECT COUNT(*) FROM events_event WHERE tag = 'account:login:failure'"
    )
    return int(rows[0][0])


def _redis_env() -> dict[str, str]:
    url = os.environ.get("STRONGROOM_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # any failure means "no Redis here"
        require(False, f"Redis is not reachable at {url} ({exc})")
    return {"STRONGROOM_REDIS_URL": url, "STRONGROOM_REDIS_PREFIX": f"e2e-{secrets.token_hex(4)}"}


@pytest.fixture(params=["embedded-store", pytest.param("redis", marks=pytest.mark.scale)])
def limits_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """Two workers counting in the embedded SQLite store, or in Redis."""
    extra = _redis_env() if request.param == "redis" else {}
    with running_server(tmp_path / "data", extra_env=extra) as server:
        yield server


def test_a_burst_of_wrong_passwords_gets_ten_checks_and_spares_other_accounts(
    limits_server: LiveServer,
) -> None:
    server = limits_server
    server.create_user("alice", "alice@example.org", PASSWORD)
    server.create_user("bob", "bob@example.org", PASSWORD)

    visitors = [Visitor(server) for _ in range(30)]
    numbered = dict(zip(map(id, visitors), range(30), strict=True))
    answers = burst(
        visitors,
        lambda v: v.post(f"/account/login/?n={numbered[id(v)]}", login="alice", password="nope-1"),
    )
    assert len(set(answering_pids(server).values())) == 2, "both workers should have answered"
    checked = [a for a in answers if a.status == 400 and WRONG in a.body]
    refused = [a for a in answers if a.status == 429]
    assert len(checked) == 10, [(a.status, a.body[:80]) for a in answers]
    assert len(refused) == 20
    assert {a.body.strip() for a in refused} == {LIMITED}
    assert failures_recorded(server) == 10  # the refused ones never reached the password

    # Alice is locked out from this address, even with her password...
    assert Visitor(server).post("/account/login/", login="alice", password=PASSWORD).status == 429
    # ... but Bob, behind the same address, is not: his typo is checked, his password works.
    bob = Visitor(server)
    typo = bob.post("/account/login/", login="bob", password="nope-2")
    assert typo.status == 400 and WRONG in typo.body
    signed_in = bob.post("/account/login/", login="bob", password=PASSWORD)
    assert signed_in.status == 200
    assert urllib.parse.urlparse(signed_in.url).path == "/manage/account/"
    assert "Traceback" not in server.log_text()


def test_a_burst_of_wrong_totp_codes_gets_five_checks(limits_server: LiveServer) -> None:
    server = limits_server
    server.create_user("carol", "carol@example.org", PASSWORD)
    server.django(
        f"""
        from strongroom.accounts.models import User
        from strongroom.mfa import secrets_box
        from strongroom.mfa.models import TOTPDevice
        TOTPDevice.objects.create(
            user=User.objects.get(username="carol"),
            secret=secrets_box.seal("{TOTP_SECRET}"),
            confirmed=True,
        )
        """
    )
    # 24 browsers get past the password (one by one: right passwords are not the point).
    visitors = [Visitor(server) for _ in range(24)]
    for visitor in visitors:
        page = visitor.post("/account/login/", login="carol", password=PASSWORD)
        assert page.status == 200 and 'name="code"' in page.body, page.body[:300]
    before = failures_recorded(server)

    code = wrong_totp_code()
    answers = burst(visitors, lambda v: v.post("/account/two-factor/", code=code))
    checked = [a for a in answers if a.status == 400 and "The code is not valid" in a.body]
    refused = [a for a in answers if a.status == 429]
    assert len(checked) == 5, [(a.status, a.body[:80]) for a in answers]
    assert len(refused) == 19
    assert all(
        "Too many two-factor attempts for this account. Try again in 5 minutes." in a.body
        for a in refused
    )
    assert failures_recorded(server) - before == 5
    assert "Traceback" not in server.log_text()


def wrong_totp_code() -> str:
    from strongroom.mfa import totp

    step = totp.time_step(time.time())
    valid = {totp.code_at_step(TOTP_SECRET, step + o) for o in range(-12, 13)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in valid)
