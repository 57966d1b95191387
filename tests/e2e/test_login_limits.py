"""Issue 2, item 5: login failure limits hold across gunicorn worker processes."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message

import pytest

from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-unusual-pass-97"


@dataclass
class Answer:
    status: int
    body: str
    headers: Message  # header names are case-insensitive (granian sends them lower-case)


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
        assert answer.body.strip() == "Too many failed attempts. Try again in 5 minutes."
        assert 0 < int(answer.headers["Retry-After"]) <= 300

    # A browser sees the sentence on the login page.
    page = attempt(server, 999, PASSWORD, accept="text/html")
    assert page.status == 429
    assert "Too many failed attempts. Try again in 5 minutes." in page.body
    assert "<form" in page.body
    assert "Traceback" not in server.log_text()
