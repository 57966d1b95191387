"""The read path against the real server: pages each worker keeps in memory are never
stale. An upload, a yank or a new project shows on the very next request, whichever
worker answers it, on either HTTP server; ``/simple/`` (all projects) on PostgreSQL once
its background render is stored and fetched (tests/e2e/listing.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.distributions import upload_form
from tests.e2e import listing
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e
JSON = "application/vnd.pypi.simple.v1+json"


def _upload(server: LiveServer, token: str, name: str, version: str) -> None:
    form = upload_form(name=name, version=version)
    content = form.pop("content")
    fields = [
        (key, item)
        for key, value in form.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    response = requests.post(
        server.base_url + "/legacy/",
        data=fields,
        files={"content": (content.name, content.read(), "application/octet-stream")},
        auth=("__token__", token),
        timeout=60,
    )
    assert response.status_code == 200, response.text


def _pages(server: LiveServer, path: str, count: int, accept: str = "text/html") -> list[str]:
    """``count`` answers from fresh connections, several at once (so both workers answer)."""

    def get(_: int) -> str:
        response = requests.get(server.base_url + path, headers={"Accept": accept}, timeout=30)
        assert response.status_code == 200
        return response.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(get, range(count)))


def _pids(server: LiveServer, path: str) -> set[str]:
    return {
        line.rsplit("pid=<", 1)[1].rstrip(">")
        for line in server.access_log()
        if f'"GET {path} ' in line
    }


def test_changes_show_on_the_very_next_request_from_every_worker(each_server: LiveServer):
    server = each_server
    server.create_user("reader", "reader@example.org", PASSWORD)
    token = server.create_token("reader", "fresh")
    _upload(server, token, "fresh-pkg", "1.0")

    # Every worker remembers the pages (HTML and JSON, the project and the index).
    for accept in ("text/html", JSON):
        pages = _pages(server, "/simple/fresh-pkg/", 40, accept)
        assert all("fresh_pkg-1.0" in page for page in pages)
    assert listing.pages_when(server.base_url, "fresh-pkg")
    assert len(_pids(server, "/simple/fresh-pkg/")) == 2

    _upload(server, token, "fresh-pkg", "2.0")
    for accept in ("text/html", JSON):
        pages = _pages(server, "/simple/fresh-pkg/", 40, accept)
        assert all("fresh_pkg-2.0-py3-none-any.whl" in page for page in pages)

    server.django(
        """
        from strongroom.accounts.actors import Actor
        from strongroom.packages.models import Release
        from strongroom.packages.services import yank_release
        release = Release.objects.get(project__normalized_name="fresh-pkg", version="2.0")
        owner = release.project.roles.get().user
        yank_release(Actor.of(owner), release, "broken build")
        """
    )
    for page in _pages(server, "/simple/fresh-pkg/", 40):
        assert 'data-yanked="broken build"' in page
    for page in _pages(server, "/simple/fresh-pkg/", 40, JSON):
        assert '"yanked": "broken build"' in page or '"yanked":"broken build"' in page

    _upload(server, token, "fresh-other", "1.0")
    assert listing.pages_when(server.base_url, "fresh-other")
