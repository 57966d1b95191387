"""Issue 21, item 1 end to end: a real ``strongroom serve`` (two workers) refuses a reset
asked for under a forged host, from many clients at once, and mails only base-URL links."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-unusual-pass-97"
EVIL = "evil.example"
RESET = "/account/reset-password/"


def _csrf(server: LiveServer) -> tuple[str, str]:
    """A CSRF cookie and form token, fetched the honest way."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(server.base_url + RESET).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    cookie = next(c for c in jar if c.name == "strongroom_csrf")
    return cookie.value, token


def _post_reset(
    server: LiveServer, n: int, kind: str, csrf: tuple[str, str], gunicorn: bool = True
) -> int:
    """POST a reset for alice, naming the host as ``kind`` says; return the status."""
    address = urlsplit(server.base_url)
    right_host = f"localhost:{address.port}"
    target, headers = f"{RESET}?n={n}", {"Host": right_host}
    if kind == "host":
        headers["Host"] = EVIL
    elif kind == "forwarded":
        headers["X-Forwarded-Host"] = EVIL
    elif kind == "absolute":
        # An absolute request line names the host that counts (RFC 9112, 3.2.2). gunicorn
        # passes it on (RAW_URI) and it is refused whatever Host says; granian drops it and
        # answers for Host, so there the Host is forged too.
        target = f"http://{EVIL}{RESET}?n={n}"
        if not gunicorn:
            headers["Host"] = EVIL
    body = urllib.parse.urlencode(
        {"login": "alice@example.org", "csrfmiddlewaretoken": csrf[1]}
    ).encode()
    connection = http.client.HTTPConnection("127.0.0.1", address.port, timeout=30)
    try:
        connection.putrequest("POST", target, skip_host=True, skip_accept_encoding=True)
        for name, value in {
            **headers,
            "Cookie": f"strongroom_csrf={csrf[0]}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
        }.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _answering_pids(server: LiveServer) -> set[str]:
    return set(
        re.findall(r'"POST [^"]*reset-password/\?n=\d+ [^"]*" .*pid=<(\d+)>', server.log_text())
    )


def test_forged_hosts_get_400_from_every_worker_and_no_email(
    each_server: LiveServer,
) -> None:
    server = each_server
    server.create_user("alice", "alice@example.org", PASSWORD)
    csrf = _csrf(server)
    log = server.log_text()
    assert f"links in emails use {server.base_url}/" in log

    kinds = ["host", "forwarded", "absolute"]
    gunicorn = "Starting gunicorn" in log
    statuses: list[int] = []
    n = 0
    for _round in range(10):
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses += pool.map(
                lambda i: _post_reset(server, i, kinds[i % 3], csrf, gunicorn), range(n, n + 12)
            )
        n += 12
        if len(_answering_pids(server)) >= 2:
            break
    assert len(_answering_pids(server)) == 2, "both workers should have answered"
    assert set(statuses) == {400}
    assert server.outbox() == []

    # The same request under the right host mails alice a link on the base URL.
    assert _post_reset(server, n, "right", csrf) == 200
    deadline = time.monotonic() + 10
    while not server.outbox() and time.monotonic() < deadline:
        time.sleep(0.1)
    (mail,) = server.outbox()
    text = mail.read_text()
    assert EVIL not in text
    links = re.findall(r"https?://[^\s\"<>]+/account/reset-password/[^\s\"<>]+", text)
    assert links and all(link.startswith(server.base_url + RESET) for link in links)
    with urllib.request.urlopen(links[0]) as page:
        assert page.status == 200
        assert "Choose a new password" in page.read().decode()
