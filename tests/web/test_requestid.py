"""Issue 19, item 3: a request id in every log line and in ``X-Request-ID``; JSON logs."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest

from strongroom.web.accesslog import AccessLog
from strongroom.web.logformat import JsonFormatter
from strongroom.web.requestid import RequestIdFilter, RequestIds, request_id_for
from tests.distributions import post_upload, upload_form

FRESH = re.compile(r"[0-9a-f]{32}")


def _environ(**extra: object) -> dict[str, object]:
    environ: dict[str, object] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/simple/",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "wsgi.input": io.BytesIO(),
    }
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


def _call(app, environ):  # type: ignore[no-untyped-def]
    seen: dict[str, object] = {}

    def start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
        seen["status"] = status
        seen["headers"] = headers

    result = app(environ, start_response)
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return seen["status"], seen["headers"], body


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    path = tmp_path / "access.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    yield fd, path
    os.close(fd)


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """The ``strongroom`` logger's records, as STRONGROOM_LOG_FORMAT=json writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("strongroom")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_a_well_formed_incoming_id_is_kept() -> None:
    for incoming in ["abc", "lb-7f3a:42", "Root=1-5f84c7a4-3c8d0a6b", "a" * 128, "x/y+z=@."]:
        assert request_id_for(incoming) == incoming


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "a b",
        'a"b',
        "a\nfake line",
        "a\r\nX-Evil: 1",
        "a>pid=<1",
        "a" * 129,
        "caf\u00e9",
        "\x00",
    ],
)
def test_a_malformed_or_hostile_incoming_id_is_replaced(hostile: str) -> None:
    chosen = request_id_for(hostile)
    assert chosen != hostile and FRESH.fullmatch(chosen)


def test_every_request_gets_a_new_id_when_none_is_sent() -> None:
    ids = {request_id_for(None) for _ in range(1000)}
    assert len(ids) == 1000 and all(FRESH.fullmatch(i) for i in ids)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path", ["/simple/", "/simple/rid-pkg/", "/account/login/", "/simple/unknown-x/"]
)
def test_the_served_application_returns_the_id_on_fast_path_and_django(
    client, user, path: str, log_file, app_log
) -> None:
    """Whoever answers (the bare-WSGI fast path or Django), the response names the id, the
    access line carries it, and so does every application log line of that request."""
    from strongroom.wsgi import application

    assert post_upload(client, upload_form(name="rid-pkg", version="1.0")).status_code == 200
    fd, path_ = log_file
    logged = AccessLog(application, fd, log_format="json")
    status, headers, _body = _call(logged, _environ(PATH_INFO=path, HTTP_X_REQUEST_ID="lb-1234"))
    assert [v for k, v in headers if k.lower() == "x-request-id"] == ["lb-1234"], status
    status, headers, _body = _call(logged, _environ(PATH_INFO=path, HTTP_X_REQUEST_ID="a\nb"))
    (fresh,) = [v for k, v in headers if k.lower() == "x-request-id"]
    assert FRESH.fullmatch(fresh)
    lines = [json.loads(line) for line in path_.read_text().splitlines()]
    assert [(e["path"], e["request_id"]) for e in lines] == [(path, "lb-1234"), (path, fresh)]


def test_application_log_lines_of_a_request_carry_its_id(app_log) -> None:
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        logging.getLogger("strongroom.test").warning("inside %s\nsecond line", "the view")
        start_response("200 OK", [])
        return [b""]

    _call(RequestIds(app), _environ(HTTP_X_REQUEST_ID="req-9"))
    _call(RequestIds(app), _environ(HTTP_X_REQUEST_ID='forged"id'))
    first, second = (json.loads(line) for line in app_log.getvalue().splitlines())
    assert first["request_id"] == "req-9"
    assert first["message"] == "inside the view\nsecond line"  # one line, newline escaped
    assert (first["level"], first["logger"], first["log"]) == ("WARNING", "strongroom.test", "app")
    assert FRESH.fullmatch(second["request_id"])


def test_an_exception_is_one_json_line_with_its_traceback(app_log) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("strongroom.test").exception("failed")
    (line,) = app_log.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]
    assert set(entry) >= {"time", "level", "logger", "request_id", "pid"}


def test_json_access_line_cannot_be_forged(log_file) -> None:
    fd, path = log_file

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("404 Not Found", [("Content-Length", "3")])
        return [b"no!"]

    forged_path = b'/x\n{"log":"access","status":200}'.decode("latin-1")
    environ = _environ(
        PATH_INFO=forged_path + "/caf\u00c3\u00a9",  # UTF-8 "café" as WSGI hands it over
        QUERY_STRING='q="a b"',
        HTTP_USER_AGENT='evil", "status": 200\r\n',
        REMOTE_ADDR="192.0.2.9",
    )
    _call(AccessLog(RequestIds(app), fd, log_format="json"), environ)
    (line,) = path.read_text().splitlines()
    entry = json.loads(line)
    assert entry["path"] == '/x\n{"log":"access","status":200}/café'
    assert entry["user_agent"] == 'evil", "status": 200\r\n'
    assert (entry["status"], entry["size"], entry["query"]) == (404, 3, 'q="a b"')
    assert entry["remote_addr"] == "192.0.2.9" and entry["pid"] == os.getpid()
    assert FRESH.fullmatch(entry["request_id"])


def test_text_access_line_carries_the_id_before_the_pid(log_file) -> None:
    fd, path = log_file

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [])
        return [b"ok"]

    _call(AccessLog(RequestIds(app), fd), _environ(HTTP_X_REQUEST_ID="edge-77"))
    (line,) = path.read_text().splitlines()
    assert line.endswith(f'"-" rid=<edge-77> pid=<{os.getpid()}>')


def test_workers_forked_from_one_parent_never_share_ids() -> None:
    """gunicorn forks its workers after the parent imported this module: each child must
    draw its own random half, or two workers would hand out the same ids."""
    from strongroom.web.requestid import new_request_id

    parent = {new_request_id() for _ in range(3)}
    children = []
    for _ in range(2):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report three ids and leave at once
            os.write(write_end, " ".join(new_request_id() for _ in range(3)).encode())
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            children.append(set(pipe.read().split()))
        os.waitpid(pid, 0)
    first, second = children
    assert len(parent | first | second) == 9
    prefixes = {i[:16] for i in parent}, {i[:16] for i in first}, {i[:16] for i in second}
    assert all(len(p) == 1 for p in prefixes) and len(set.union(*prefixes)) == 3
