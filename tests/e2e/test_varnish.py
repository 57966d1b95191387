"""Strongroom behind Debian's Varnish with docs/varnish.vcl (issue 20, item 5): pages are
served from Varnish's cache, and an upload purges them before the very next request."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e import listing
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer, free_port, running_server
from tests.e2e.test_read_path import _upload
from tests.e2e.varnish import bans_added, running_varnish, varnishd, wait_for_bans

pytestmark = pytest.mark.e2e
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def behind_varnish(tmp_path: Path) -> Iterator[tuple[LiveServer, str, Path]]:
    """The server, Varnish's base URL, and Varnish's work folder (for its counters)."""
    varnishd()  # skips (fails on CI) before anything starts when Varnish is missing
    varnish_port = free_port()
    env = {
        "STRONGROOM_PURGE_BACKEND": "http",
        "STRONGROOM_PURGE_URL": f"http://127.0.0.1:{varnish_port}/",
    }
    with running_server(tmp_path / "data", extra_env=env) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with running_varnish(port, varnish_port, tmp_path / "varnish") as cache:
            yield server, cache, tmp_path / "varnish"


def _hits(server: LiveServer, path: str) -> int:
    return sum(1 for line in server.access_log() if f'"GET {path} ' in line)


def _get(url: str, **headers: str) -> requests.Response:
    response = requests.get(url, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response


def test_pages_come_from_varnish_and_an_upload_shows_on_the_next_request(behind_varnish):
    server, cache, work = behind_varnish
    server.create_user("cdn", "cdn@example.org", PASSWORD)
    token = server.create_token("cdn", "cdn")
    # Asked for before it exists: the 404 is cached under the project's key too.
    assert requests.get(cache + "/simple/cdn-pkg/", timeout=30).status_code == 404
    assert requests.get(cache + "/pypi/cdn-pkg/json", timeout=30).status_code == 404
    bans = bans_added(work)
    _upload(server, token, "cdn-pkg", "1.0")
    # Two purges: the project's, and the root's once it lists the new project. On SQLite
    # both have arrived when the upload is answered; on PostgreSQL the root is rendered in
    # the background and purged after that (index.root), so a /simple/ cached before its
    # purge arrives is dropped by it: wait for it, bounded. Until a worker has read the
    # new root it answers with the previous one, marked for no shared cache to keep: wait
    # until every worker serves the new one.
    if os.environ.get("STRONGROOM_DATABASE_URL"):
        wait_for_bans(work, bans + 2)
        listing.index_when(
            server.base_url, lambda index: listing.names(index) == ["cdn-pkg"],
            **{"Accept-Encoding": "gzip"},  # what Varnish asks its backend for
        )  # fmt: skip
    assert bans_added(work) == bans + 2

    direct = _get(f"{server.base_url}/simple/cdn-pkg/")
    assert direct.headers["Surrogate-Key"] == "project-cdn-pkg"
    assert "stale-while-revalidate=" in direct.headers["Surrogate-Control"]
    assert "max-age=86400" in direct.headers["Surrogate-Control"]  # told of changes

    paths = ["/simple/cdn-pkg/", "/pypi/cdn-pkg/json", "/simple/"]
    for path in paths:
        first = _get(cache + path, Accept=JSON)
        assert first.headers["X-Cache"] == "MISS"
    origin_before = {path: _hits(server, path) for path in paths}
    for path in paths:
        again = _get(cache + path, Accept=JSON)
        assert again.headers["X-Cache"] == "HIT", path
        assert "Surrogate-Key" not in again.headers
    assert {path: _hits(server, path) for path in paths} == origin_before  # not asked again
    wheel = next(f for f in _get(cache + "/simple/cdn-pkg/", Accept=JSON).json()["files"])
    assert wheel["filename"] == "cdn_pkg-1.0-py3-none-any.whl"

    _upload(server, token, "cdn-pkg", "1.1")

    page = _get(cache + "/simple/cdn-pkg/", Accept=JSON)
    assert "cdn_pkg-1.1-py3-none-any.whl" in {f["filename"] for f in page.json()["files"]}
    html = _get(cache + "/simple/cdn-pkg/", **{"Accept-Encoding": "gzip"})
    assert "cdn_pkg-1.1-py3-none-any.whl" in html.text
    assert _get(cache + "/pypi/cdn-pkg/json").json()["info"]["version"] == "1.1"
    # An upload to a listed project leaves /simple/ as it was (rendered at write time,
    # only when what it lists changes: index.root); a new project changes and purges it.
    index = _get(cache + "/simple/", Accept=JSON).json()
    assert [p["name"] for p in index["projects"]] == ["cdn-pkg"]
    assert index["meta"]["_last-serial"] < page.json()["meta"]["_last-serial"]
    _upload(server, token, "cdn-other", "1.0")
    expected = ["cdn-other", "cdn-pkg"]
    listing.index_when(cache, lambda index: listing.names(index) == expected)


def test_purges_are_refused_from_other_requests_without_keys(behind_varnish):
    _server, cache, _work = behind_varnish
    assert requests.request("PURGE", cache + "/", timeout=10).status_code == 400
    bad = requests.request("PURGE", cache + "/", headers={"Surrogate-Key": ".*"}, timeout=10)
    assert bad.status_code == 400
