"""pip and uv ask for compressed pages and install from them (issue 20, item 2)."""

from __future__ import annotations

import http.client
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e import listing
from tests.e2e.clients import (
    PASSWORD,
    build,
    installed_version,
    isolated_env,
    run,
    write_flit_project,
)
from tests.e2e.recording_proxy import Exchange, recording_proxy
from tests.e2e.server import LiveServer
from tests.e2e.test_read_path import _upload

pytestmark = pytest.mark.e2e
NAME, MODULE = "sr-gzip", "sr_gzip"


@pytest.fixture(scope="module")
def published(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    server.create_user("gzipper", "gzipper@example.org", PASSWORD)
    token = server.create_token("gzipper", "gzip")
    root = tmp_path_factory.mktemp("gzip")
    env = isolated_env(root / "home")
    for version in ("1.0", "1.1"):
        files = build(write_flit_project(root, NAME, version), env)
        run([sys.executable, "-m", "twine", "upload", "--non-interactive",
             "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
            dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=token))  # fmt: skip
    return server


def _project_pages(exchanges: list[Exchange]) -> list[Exchange]:
    return [e for e in exchanges if e.path.rstrip("/").endswith(f"/simple/{NAME}")]


def test_pip_installs_from_a_gzip_page(published: LiveServer, tmp_path: Path) -> None:
    with recording_proxy(published.base_url) as (proxy, exchanges):
        run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target",
             str(tmp_path / "t"), "--index-url", f"{proxy}/simple/", NAME],
            isolated_env(tmp_path / "h"))  # fmt: skip
    assert installed_version(tmp_path / "t", MODULE) == "1.1"
    pages = _project_pages(exchanges)
    assert pages, exchanges
    for page in pages:
        assert "gzip" in page.request_headers.get("Accept-Encoding", "")
        assert page.response_headers.get("Content-Encoding") in ("gzip", "zstd")
        assert "Accept-Encoding" in page.response_headers["Vary"]


def test_uv_installs_from_a_compressed_page(published: LiveServer, tmp_path: Path) -> None:
    uv = shutil.which("uv") or "uv"
    with recording_proxy(published.base_url) as (proxy, exchanges):
        run([uv, "pip", "install", "--no-cache", "--python", sys.executable, "--target",
             str(tmp_path / "t"), "--index-url", f"{proxy}/simple/", NAME],
            isolated_env(tmp_path / "h"))  # fmt: skip
    assert installed_version(tmp_path / "t", MODULE) == "1.1"
    pages = _project_pages(exchanges)
    assert pages, exchanges
    for page in pages:
        assert "gzip" in page.request_headers.get("Accept-Encoding", "")
        assert page.response_headers.get("Content-Encoding") in ("gzip", "zstd")


def test_pages_are_framed_by_their_length(each_server: LiveServer) -> None:
    """On each server a page goes out with its Content-Length, not chunked, and a HEAD
    tells the length of the GET's body (a cache or a client knows where the body ends)."""
    each_server.create_user("framer", "framer@example.org", PASSWORD)
    _upload(each_server, each_server.create_token("framer", "frame"), "sr-frame", "1.0")
    host, port = each_server.base_url.removeprefix("http://").rsplit(":", 1)
    for path in ("/simple/", "/simple/sr-frame/"):
        for coding in ("gzip", "identity"):
            headers = {"Accept": listing.JSON, "Accept-Encoding": coding}
            if path == "/simple/":
                # The root as it will stay: on PostgreSQL it is rendered after the upload,
                # and each worker reads each stored body once after that (index.root).
                listing.index_when(
                    each_server.base_url, lambda index: listing.names(index) == ["sr-frame"],
                    **{"Accept-Encoding": coding},
                )  # fmt: skip
            lengths = {}
            for method in ("GET", "HEAD"):
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.request(method, path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                connection.close()
                assert response.status == 200, (path, coding, method)
                assert response.getheader("Transfer-Encoding") is None, (path, coding, method)
                expected = None if coding == "identity" else coding
                assert response.getheader("Content-Encoding") == expected
                lengths[method] = int(response.getheader("Content-Length"))
                assert len(body) == (lengths[method] if method == "GET" else 0)
            assert lengths["HEAD"] == lengths["GET"] > 0, (path, coding)
