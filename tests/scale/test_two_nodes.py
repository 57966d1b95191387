"""Two ``strongroom serve`` nodes on one PostgreSQL, Redis and S3 behave as one index.

Runs only in the scale-out configuration (the second pass of .ci/run); the embedded
pass deselects it with ``-m "not scale"``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator

import pytest
import requests

from tests.distributions import make_wheel, wheel_filename
from tests.e2e import listing
from tests.e2e.clients import PASSWORD, isolated_env, run
from tests.e2e.server import LiveServer, running_server, scale_out_configured, scale_out_services
from tests.support import require

pytestmark = [pytest.mark.scale, pytest.mark.e2e]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    require(
        scale_out_configured(),
        "two nodes need the scale-out services: set STRONGROOM_DATABASE_URL, "
        "STRONGROOM_REDIS_URL, STRONGROOM_STORAGE_URL and STRONGROOM_S3_ENDPOINT_URL",
    )
    root = tmp_path_factory.mktemp("two-nodes")
    # An empty database: the first node migrates it, the second finds nothing to apply.
    with (
        scale_out_services("nodes", migrated=False) as shared,
        running_server(root / "a", extra_env=shared) as node_a,
        running_server(root / "b", extra_env=shared) as node_b,
    ):
        node_a.create_user("walker", "walker@example.org", PASSWORD)
        node_a.create_user("limited", "limited@example.org", PASSWORD)
        node_a.create_user("uploader", "uploader@example.org", PASSWORD)
        yield node_a, node_b


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30).text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _log_in(session: requests.Session, node: LiveServer, login: str, password: str) -> int:
    url = f"{node.base_url}/account/login/"
    response = session.post(
        url,
        data={"login": login, "password": password, "csrfmiddlewaretoken": _csrf(session, url)},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def test_a_session_started_on_one_node_works_on_the_other(nodes):
    node_a, node_b = nodes
    browser = requests.Session()  # cookies ignore the port: both nodes get them
    assert _log_in(browser, node_a, "walker", PASSWORD) == 302
    page = browser.get(f"{node_b.base_url}/manage/account/", allow_redirects=False, timeout=30)
    assert page.status_code == 200, page.headers.get("Location")
    assert "walker" in page.text
    # Signing out on B ends the session on A too.
    browser.post(
        f"{node_b.base_url}/account/logout/",
        data={"csrfmiddlewaretoken": _csrf(browser, f"{node_b.base_url}/manage/account/")},
        headers={"Referer": f"{node_b.base_url}/manage/account/"},
        timeout=30,
    )
    after = browser.get(f"{node_a.base_url}/manage/account/", allow_redirects=False, timeout=30)
    assert after.status_code == 302 and "/account/login/" in after.headers["Location"]


def test_login_limits_count_across_both_nodes(nodes):
    node_a, node_b = nodes
    for attempt in range(10):  # 10 failures per 5 minutes for one account from one address
        node = node_a if attempt % 2 else node_b
        assert _log_in(requests.Session(), node, "limited", "wrong-password") == 400
    assert _log_in(requests.Session(), node_a, "limited", PASSWORD) == 429
    assert _log_in(requests.Session(), node_b, "limited", PASSWORD) == 429


def test_a_file_uploaded_through_one_node_installs_through_the_other_at_once(nodes, tmp_path):
    node_a, node_b = nodes
    simple = {"Accept": "application/vnd.pypi.simple.v1+json"}
    # B has the index page in the shared cache before the upload.
    before = requests.get(f"{node_b.base_url}/simple/", headers=simple, timeout=30).json()
    assert "sr-two" not in [p["name"] for p in before["projects"]]

    content = make_wheel("sr-two", "1.0")
    filename = wheel_filename("sr-two", "1.0")
    response = requests.post(
        f"{node_a.base_url}/legacy/",
        data={
            ":action": "file_upload",
            "protocol_version": "1",
            "metadata_version": "2.1",
            "name": "sr-two",
            "version": "1.0",
            "filetype": "bdist_wheel",
            "pyversion": "py3",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        },
        files={"content": (filename, content, "application/octet-stream")},
        # A token minted through node B's CLI: both nodes share the secret and database.
        auth=("__token__", node_b.create_token("uploader", "two-nodes")),
        timeout=60,
    )
    assert response.status_code == 200, response.text

    # The project's page and its file are there through B at once (rendered in the
    # upload's transaction); the root listing all projects follows within its render,
    # done by A's worker in the background (index.root), and never goes back.
    files = requests.get(f"{node_b.base_url}/simple/sr-two/", headers=simple, timeout=30).json()
    url = files["files"][0]["url"]
    download = requests.get(f"{node_b.base_url}{url}", timeout=30)
    assert download.status_code == 200 and download.content == content

    # pip resolves (PEP 658 metadata first), downloads and checks the hash through B.
    target = tmp_path / "downloads"
    env = isolated_env(tmp_path / "home")
    run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
         "--index-url", f"{node_b.base_url}/simple/", "--dest", str(target), "sr-two"],
        env,
    )  # fmt: skip
    assert (target / filename).read_bytes() == content
    # The file lives once, in the shared bucket, not on either node's disk.
    assert [k for k in node_a.stored_files() if k.endswith(filename)]
    assert not (node_a.data_dir / "files").exists() and not (node_b.data_dir / "files").exists()
    listing.index_when(node_b.base_url, lambda document: "sr-two" in listing.names(document))
