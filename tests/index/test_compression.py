"""Pages are compressed when they are written and served compressed when asked for."""

from __future__ import annotations

import gzip

import pytest
import zstandard
from django.core.handlers.wsgi import WSGIHandler

from strongroom.index import encoding
from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.index.models import SimplePage
from tests.distributions import post_upload, upload_form
from tests.index.test_fastwsgi import _call, _refuse

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"
PATHS = ["/simple/", "/simple/zip-pkg/"]


@pytest.fixture
def published(client, user):
    assert post_upload(client, upload_form(name="zip-pkg", version="1.0")).status_code == 200
    return user


def _decode(body: bytes, coding: str | None) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    return body


def test_stored_page_holds_compressed_copies_of_both_formats(published):
    page = SimplePage.objects.get()
    assert gzip.decompress(bytes(page.html_gzip)) == bytes(page.html)
    assert gzip.decompress(bytes(page.json_gzip)) == bytes(page.json)
    assert _decode(bytes(page.html_zstd), "zstd") == bytes(page.html)
    assert _decode(bytes(page.json_zstd), "zstd") == bytes(page.json)


@pytest.mark.parametrize(
    ("accept_encoding", "coding"),
    [
        ("gzip, deflate", "gzip"),  # pip (urllib3 without zstandard)
        ("gzip, deflate, br, zstd", "zstd"),  # uv, urllib3 with zstandard
        ("x-gzip", "gzip"),
        ("zstd;q=0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("identity", None),
        ("br", None),
        ("*", "zstd"),
        ("*;q=0", None),
    ],
)
def test_served_in_the_asked_encoding_with_distinct_etags(
    client, published, accept_encoding, coding
):
    for path in PATHS:
        for accept in ("text/html", JSON):
            _check(client, path, accept, accept_encoding, coding)


def _check(client, path, accept, accept_encoding, coding):  # type: ignore[no-untyped-def]
    plain = client.get(path, HTTP_ACCEPT=accept)
    response = client.get(path, HTTP_ACCEPT=accept, HTTP_ACCEPT_ENCODING=accept_encoding)
    assert response.status_code == 200
    assert response.get("Content-Encoding") == coding
    assert response["Vary"] == "Accept, Accept-Encoding"
    assert _decode(response.content, coding) == plain.content
    if coding is None:
        assert response["ETag"] == plain["ETag"]
    else:
        assert response["ETag"] != plain["ETag"]
        # The identity page's validator does not revalidate the compressed copy.
        stale = client.get(
            path, HTTP_ACCEPT=accept, HTTP_ACCEPT_ENCODING=accept_encoding,
            HTTP_IF_NONE_MATCH=plain["ETag"],
        )  # fmt: skip
        assert stale.status_code == 200
        fresh = client.get(
            path, HTTP_ACCEPT=accept, HTTP_ACCEPT_ENCODING=accept_encoding,
            HTTP_IF_NONE_MATCH=response["ETag"],
        )  # fmt: skip
        assert fresh.status_code == 304 and "Content-Encoding" not in fresh


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("accept_encoding", ["gzip", "zstd, gzip", "identity"])
def test_the_fast_path_serves_the_same_compressed_bytes(published, path, accept_encoding):
    bare = _call(SimpleFastPath(_refuse), path, accept_encoding=accept_encoding)
    django = _call(WSGIHandler(), path, accept_encoding=accept_encoding)
    assert bare == django
    assert bare[1].get("content-encoding") == encoding.choose(accept_encoding)


def test_a_changed_project_gets_new_compressed_pages(client, published):
    first = client.get("/simple/zip-pkg/", HTTP_ACCEPT_ENCODING="gzip")
    assert post_upload(client, upload_form(name="zip-pkg", version="2.0")).status_code == 200
    second = client.get("/simple/zip-pkg/", HTTP_ACCEPT_ENCODING="gzip")
    assert second["ETag"] != first["ETag"]
    assert b"zip_pkg-2.0" in gzip.decompress(second.content)


def test_a_page_stored_before_compression_is_served_plain(client, published):
    SimplePage.objects.update(html_gzip=b"", html_zstd=b"", json_gzip=b"", json_zstd=b"")
    response = client.get("/simple/zip-pkg/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert b"zip_pkg-1.0" in response.content
    assert response["ETag"] == client.get("/simple/zip-pkg/")["ETag"]


def test_compressed_bytes_are_the_same_on_every_node():
    body = b"<html>" + b"x" * 10_000
    assert encoding.compress(body) == encoding.compress(body)


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        ("gzip;q=nan", None),  # an unreadable weight refuses the coding
        ("zstd;q=nan, gzip", "gzip"),
        ("gzip;q=0, zstd;q=0", None),
        ("GZIP;Q=0.5, zstd;q=0.4", "gzip"),
        ("gzip;q=abc, zstd", "zstd"),
        ("gzip;q=7", "gzip"),  # clamped to 1
    ],
)
def test_accept_encoding_weights_are_read_as_accept_weights(accept_encoding, chosen):
    assert encoding.choose(accept_encoding) == chosen
