"""An S3 store that answers HEAD but fails every read: downloads get a plain 503 (and the
access log says 503), never a 200 that breaks off or the server's bare 500 page.

The store is a local HTTP server speaking just enough S3 for that fault: HEAD gives the
object's size, GET answers 500 InternalError, as a failing S3 backend does.
"""

from __future__ import annotations

import os
import threading
import wsgiref.util
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.wsgi import get_wsgi_application
from django.test import Client

from strongroom.storage import reset_storage
from strongroom.web.accesslog import AccessLog

pytestmark = pytest.mark.django_db(transaction=True)

SHA = "ab" * 32
PATH = f"/packages/ab/ab/{SHA}/x-1.0.tar.gz"
ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)


class _HeadOnlyS3(BaseHTTPRequestHandler):
    gets = 0

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("ETag", '"0123456789abcdef0123456789abcdef"')
        self.send_header("Last-Modified", "Tue, 01 Dec 2026 12:00:00 GMT")
        self.end_headers()

    def do_GET(self) -> None:
        type(self).gets += 1
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(ERROR)))
        self.end_headers()
        self.wfile.write(ERROR)


@pytest.fixture
def reads_fail(settings) -> Iterator[type[_HeadOnlyS3]]:  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HeadOnlyS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.FILE_STORAGE_BACKEND = "strongroom.storage.s3.S3Storage"
    settings.S3_BUCKET = "files"
    settings.S3_PREFIX = ""
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.S3_ACCESS_KEY_ID = "key"
    settings.S3_SECRET_ACCESS_KEY = "secret"
    settings.DOWNLOADS = "stream"
    _HeadOnlyS3.gets = 0
    reset_storage()
    yield _HeadOnlyS3
    reset_storage()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("range_header", [None, "bytes=10-"])
def test_a_download_whose_reads_fail_is_a_plain_503(reads_fail, range_header):  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    extra = {"HTTP_RANGE": range_header} if range_header else {}

    response = client.get(PATH, **extra)

    assert reads_fail.gets >= 1, "the read was tried"
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"file storage cannot be reached" in response.content


def test_the_access_log_records_the_503_that_was_sent(reads_fail, tmp_path):  # type: ignore[no-untyped-def]
    log_path = tmp_path / "access.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    sent: list[str] = []
    environ: dict[str, Any] = {"PATH_INFO": PATH, "REQUEST_METHOD": "GET"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["HTTP_HOST"] = "localhost"
    try:
        app = AccessLog(get_wsgi_application(), fd=fd)
        result = app(environ, lambda status, headers, exc_info=None: sent.append(status))
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        os.close(fd)
    assert sent[0].startswith("503")
    assert b"file storage cannot be reached" in body
    line = log_path.read_text()
    assert f'"GET {PATH} HTTP/1.0" 503 ' in line
