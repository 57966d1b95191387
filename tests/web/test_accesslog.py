"""web.accesslog: one line per request, gunicorn's combined format plus the worker pid."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.web.accesslog import AccessLog

LINE = re.compile(
    r"^(?P<addr>\S+) - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}) (?P<size>\S+) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)" '
    r"rid=<(?P<rid>[^>\s]+)> pid=<(?P<pid>\d+)>$"
)


def _environ(**extra: str) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/simple/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.7",
    }
    environ.update(extra)
    return environ


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    path = tmp_path / "access.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    yield fd, path
    os.close(fd)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _ok(body: bytes = b"hello", status: str = "200 OK"):  # type: ignore[no-untyped-def]
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response(status, [("Content-Type", "text/plain")])
        return [body]

    return app


def test_a_line_per_request_with_status_size_agent_and_pid(log_file) -> None:
    fd, path = log_file
    app = AccessLog(_ok(b"x" * 715), fd)
    environ = _environ(HTTP_USER_AGENT="pip/25.3", HTTP_REFERER="http://localhost/")
    assert b"".join(app(environ, lambda *a: None)) == b"x" * 715
    app(_environ(REQUEST_METHOD="HEAD", QUERY_STRING="a=1"), lambda *a: None)
    first, second = (LINE.match(line) for line in _lines(path))
    assert first and second
    assert first["addr"] == "192.0.2.7"
    assert first["request"] == "GET /simple/ HTTP/1.1"
    assert (first["status"], first["size"]) == ("200", "715")
    assert (first["agent"], first["referer"]) == ("pip/25.3", "http://localhost/")
    assert first["pid"] == str(os.getpid())
    assert second["request"] == "HEAD /simple/?a=1 HTTP/1.1"
    assert (second["agent"], second["referer"]) == ("-", "-")


def test_a_hostile_path_or_header_cannot_forge_a_line_or_a_field(log_file) -> None:
    fd, path = log_file
    app = AccessLog(_ok(status="404 Not Found"), fd)
    # WSGI paths are the %-decoded bytes as latin-1: a %0A in the URL arrives as "\n".
    forged = '/x\n1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "GET /admin/ HTTP/1.1" 200'
    app(
        _environ(
            PATH_INFO=forged,
            QUERY_STRING='q="a b"',
            HTTP_USER_AGENT='evil" pid=<1>\r\nx',
            HTTP_REFERER="caf\u00e9\\",
        ),
        lambda *a: None,
    )
    (line,) = _lines(path)
    match = LINE.match(line)
    assert match, line
    assert match["request"].startswith("GET /x%0A1.2.3.4%20-%20-%20%5B")
    assert "?q=%22a%20b%22 HTTP/1.1" in match["request"]
    assert match["agent"] == 'evil\\" pid=<1>\\r\\nx'
    assert match["pid"] == str(os.getpid()) and match["status"] == "404"


def test_a_streamed_body_is_logged_when_the_server_closes_it(log_file) -> None:
    fd, path = log_file
    closed: list[bool] = []

    class Stream:
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"a" * 10
            yield b"b" * 10

        def close(self) -> None:
            closed.append(True)

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Length", "20")])
        return Stream()

    result = AccessLog(app, fd)(_environ(), lambda *a: None)
    assert b"".join(result) == b"a" * 10 + b"b" * 10
    assert _lines(path) == []  # still being sent
    result.close()
    assert closed == [True]
    (line,) = _lines(path)
    assert LINE.match(line)["size"] == "20"  # type: ignore[index]


def test_an_application_error_is_logged_as_500_and_reraised(log_file) -> None:
    fd, path = log_file

    def broken(environ, start_response):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AccessLog(broken, fd)(_environ(), lambda *a: None)
    assert LINE.match(_lines(path)[0])["status"] == "500"  # type: ignore[index]


def test_a_broken_log_does_not_fail_the_request() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads the log any more: writes fail with EPIPE
    try:
        assert AccessLog(_ok(), write_end)(_environ(), lambda *a: None) == [b"hello"]
    finally:
        os.close(write_end)
