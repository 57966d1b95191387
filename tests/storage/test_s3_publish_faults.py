"""S3 refusing the copy from staging after the upload's commit: the staged object is kept
(it is the only copy of a committed file), the client is told, and repair publishes it.

The refusal comes from a local HTTP proxy in front of the real S3 server (SeaweedFS on
CI) that answers every server-side copy with 503 SlowDown and relays everything else.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import pytest
from django.test import Client

from strongroom.packages.models import File
from strongroom.storage import reset_storage
from strongroom.upload.repair import repair_files
from tests.distributions import post_upload, upload_form
from tests.support import require, stored_files

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class _RefuseCopies(BaseHTTPRequestHandler):
    upstream: tuple[str, int] = ("127.0.0.1", 0)
    refusing = True
    refused = 0

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.refusing and "x-amz-copy-source" in {k.lower() for k in self.headers}:
            type(self).refused += 1
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            # The Host header is relayed as signed (SigV4 covers it).
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        dropped = {"transfer-encoding", "connection"}
        if self.command != "HEAD":  # a HEAD's Content-Length is the object's size
            dropped.add("content-length")
        for name, value in answer.getheaders():
            if name.lower() not in dropped:
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay


@pytest.fixture
def copies_refused(settings) -> Iterator[type[_RefuseCopies]]:  # type: ignore[no-untyped-def]
    require(
        bool(settings.S3_BUCKET),
        "S3 is not configured (set STRONGROOM_STORAGE_URL=s3://bucket/prefix and "
        "STRONGROOM_S3_ENDPOINT_URL, as .ci/run's scale-out pass does)",
    )
    endpoint = urlparse(settings.S3_ENDPOINT_URL)
    _RefuseCopies.upstream = (endpoint.hostname or "127.0.0.1", endpoint.port or 80)
    _RefuseCopies.refusing = True
    _RefuseCopies.refused = 0
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _RefuseCopies)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    real_endpoint = settings.S3_ENDPOINT_URL
    settings.S3_ENDPOINT_URL = f"http://127.0.0.1:{proxy.server_address[1]}"
    reset_storage()
    yield _RefuseCopies
    settings.S3_ENDPOINT_URL = real_endpoint
    reset_storage()
    proxy.shutdown()
    proxy.server_close()


def test_s3_refusing_the_copy_after_the_commit_keeps_the_staged_object(copies_refused, user):  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    form = upload_form()
    content = form["content"].read()  # type: ignore[attr-defined]
    form["content"].seek(0)  # type: ignore[attr-defined]

    response = post_upload(client, form)

    assert copies_refused.refused >= 1
    assert response.status_code == 503
    assert "do not upload it again" in response.reason_phrase
    file = File.objects.get()
    staged = [key for key in stored_files() if key.startswith(".staging/")]
    assert len(staged) == 2, "the file's and its metadata's staged objects are kept"

    copies_refused.refusing = False  # S3 recovers
    repaired = repair_files(at_start=True)

    assert sorted(repaired.storage.published) == sorted([file.path, file.metadata_path])
    assert sorted(stored_files()) == sorted([file.path, file.metadata_path])
    download = client.get("/" + file.path)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
