"""Crashes of the real server: what a SIGKILL may lose, what a restart cleans up."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer, running_server
from tests.e2e.test_read_path import _upload

pytestmark = pytest.mark.e2e


def _downloads_in_database(server: LiveServer) -> int:
    rows = server.execute_sql("SELECT COALESCE(SUM(count), 0) FROM index_downloadcount")
    return int(rows[0][0])


def _worker_pids(server: LiveServer) -> set[int]:
    return {
        int(line.rsplit("pid=<", 1)[1].rstrip(">"))
        for line in server.access_log()
        if "pid=<" in line
    }


def test_download_counts_of_an_idle_worker_survive_a_sigkill(tmp_path: Path) -> None:
    """100 downloads, then silence: each worker's timer writes its counts within the
    flush interval, so killing the idle workers with SIGKILL loses none of them."""
    flush_every_second = {
        "STRONGROOM_DOWNLOAD_FLUSH_SECONDS": "1",
        "STRONGROOM_DOWNLOAD_FLUSH_EVERY": "1000000",
    }
    with running_server(tmp_path / "data", extra_env=flush_every_second) as server:
        server.create_user("alice", "alice@example.com", PASSWORD)
        token = server.create_token("alice", "ci")
        _upload(server, token, "counted", "1.0")
        files = requests.get(
            server.base_url + "/simple/counted/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()["files"]
        url = files[0]["url"]
        url = url if url.startswith("http") else server.base_url + url

        def download(_: int) -> None:
            assert requests.get(url, timeout=30).status_code == 200

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(download, range(100)))
        assert len(_worker_pids(server)) == 2, "both workers counted downloads"

        # No further request: only the workers' own timers can write the counts now.
        # (Wait for them, well beyond the 1 s interval, but never send a download.)
        deadline = time.monotonic() + 30
        while _downloads_in_database(server) < 100 and time.monotonic() < deadline:
            time.sleep(0.25)
        for pid in _worker_pids(server):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        assert _downloads_in_database(server) == 100


def test_a_restart_removes_partial_bodies_and_staged_copies_of_dead_uploads(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    (data / "tmp").mkdir(parents=True)
    (data / "files" / ".staging").mkdir(parents=True)
    leftovers = [
        data / "tmp" / "upload-killed.part",
        data / "files" / ".staging" / "killed.part",
        data / "files" / ".staging" / "rolled-back.staged",
    ]
    for path in leftovers:
        path.write_bytes(os.urandom(64 * 1024))
    (data / "files" / ".staging" / "rolled-back.target").write_text(
        "packages/aa/bb/" + "a" * 64 + "/gone-1.0.tar.gz"
    )

    with running_server(data, embedded=True) as server:
        assert [path for path in leftovers if path.exists()] == []
        assert list((data / "files" / ".staging").iterdir()) == []
        assert "Repair: published 0 file(s)" in server.log_text()
        assert "removed 3 stale staged" not in server.log_text()  # the .target goes with it
        assert "removed 2 stale staged cop(ies) and 1 partial upload bod(ies)" in (
            server.log_text()
        )
