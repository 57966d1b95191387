"""Two concurrent uploads of the same file against the real server: exactly one wins."""

from __future__ import annotations

import hashlib
import threading

import pytest
import requests

from tests.distributions import make_wheel, wheel_filename
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e


def _upload(
    server: LiveServer, token: str, content: bytes, filename: str, version: str
) -> requests.Response:
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": "sr-race",
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    return requests.post(
        f"{server.base_url}/legacy/",
        data=fields,
        files={"content": (filename, content, "application/octet-stream")},
        auth=("__token__", token),
        timeout=60,
    )


@pytest.fixture(scope="module")
def racer(server):
    """The uploading account, once per server (xdist may spread the attempts)."""
    server.create_user("racer", "racer@example.org", PASSWORD)
    return server, server.create_token("racer", "race")


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_uploads_of_the_same_file(racer, attempt):
    server, token = racer
    version = f"1.0.{attempt}"
    content = make_wheel("sr-race", version)
    filename = wheel_filename("sr-race", version)
    barrier = threading.Barrier(2)
    results: list[requests.Response] = []

    def racer() -> None:
        barrier.wait()
        response = _upload(server, token, content, filename, version)
        results.append(response)

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400], [(r.status_code, r.text) for r in results]
    loser = next(r for r in results if r.status_code == 400)
    assert "File already exists" in loser.reason and "File already exists" in loser.text
    files = requests.get(f"{server.base_url}/pypi/sr-race/{version}/json", timeout=30).json()
    assert [f["filename"] for f in files["urls"]] == [filename]
    stored = server.stored_files()
    assert len([k for k in stored if k.endswith(f"/{filename}")]) == 1, stored
    assert not [k for k in stored if k.startswith(".staging/")], stored


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_spellings_of_one_file_have_one_winner(racer, attempt):
    # Different filenames, different bytes, one distribution (issue 21, item 4).
    server, token = racer
    canonical = f"2.0.{attempt}"
    spellings = [
        (f"sr_race-{canonical}-py3-none-any.whl", canonical),
        (f"SR_Race-{canonical}-py3-none-any.whl", canonical),
        (f"sr_race-v{canonical}-py3-none-any.whl", f"v{canonical}"),
        (f"sr_race-0!{canonical}.0-py3-none-any.whl", f"0!{canonical}.0"),
    ]
    barrier = threading.Barrier(len(spellings))
    results: list[requests.Response] = []

    def racer(filename: str, version: str) -> None:
        content = make_wheel("sr-race", version, members={"sr_race/which.py": filename.encode()})
        barrier.wait()
        results.append(_upload(server, token, content, filename, version))

    threads = [threading.Thread(target=racer, args=spelling) for spelling in spellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400, 400, 400], [(r.status_code, r.reason) for r in results]
    for loser in (r for r in results if r.status_code == 400):
        assert "File already exists" in loser.reason, loser.reason
    files = requests.get(f"{server.base_url}/pypi/sr-race/{canonical}/json", timeout=30).json()
    assert len(files["urls"]) == 1


@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_look_alike_new_projects_have_one_winner(racer, attempt):
    # Four new projects whose names look alike, created at once (issue 21, item 5).
    server, token = racer
    names = [f"sr-look{attempt}", f"sr-l00k{attempt}", f"SR_LOOK.{attempt}", f"sr-1ook{attempt}"]
    barrier = threading.Barrier(len(names))
    results: list[requests.Response] = []

    def racer(name: str) -> None:
        content = make_wheel(name, "1.0")
        barrier.wait()
        results.append(_upload_named(server, token, content, name))

    threads = [threading.Thread(target=racer, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400, 400, 400], [(r.status_code, r.reason) for r in results]
    for loser in (r for r in results if r.status_code == 400):
        assert "too similar to the existing project" in loser.reason, loser.reason


def _upload_named(server: LiveServer, token: str, content: bytes, name: str) -> requests.Response:
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    return requests.post(
        f"{server.base_url}/legacy/",
        data=fields,
        files={"content": (wheel_filename(name, "1.0"), content, "application/octet-stream")},
        auth=("__token__", token),
        timeout=60,
    )
