"""SIGKILL in the middle of uploads and downloads, again and again: after a restart no
partial file, no row without its file, no object without its row, no accepted upload
lost, download counts within the flush window, and an audit chain that verifies."""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.distributions import upload_form
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer, run_cli, scale_out_configured, start_server

pytestmark = pytest.mark.e2e

KILLS = 5
WORKERS = 2
DOWNLOADS_PER_RUN = 100


def _post(base_url: str, token: str, name: str) -> int:
    form = upload_form(name=name, version="1.0")
    content = form.pop("content")
    fields = [(k, i) for k, v in form.items() for i in (v if isinstance(v, list) else [v])]
    response = requests.post(
        base_url + "/legacy/",
        data=fields,
        files={"content": (content.name, content.read(), "application/octet-stream")},
        auth=("__token__", token),
        timeout=60,
    )
    return response.status_code


class Traffic:
    """Uploads of new projects and downloads of one file, against whichever server runs."""

    def __init__(self, token: str, file_url: str) -> None:
        self.token, self.file_url = token, file_url
        self.base_url = ""
        self.accepted: list[str] = []  # answered 200: must survive every crash
        self.downloads = 0  # answered 200 with the whole body
        self.stop = threading.Event()
        self.downloading = threading.Event()  # cleared: downloads pause
        self.in_flight = 0
        self._names = itertools.count()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._uploads) for _ in range(3)]
        self.threads += [threading.Thread(target=self._downloads) for _ in range(3)]

    def _uploads(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                name = f"crash-{next(self._names)}"
            try:
                status = _post(self.base_url, self.token, name)
            except requests.RequestException:
                continue  # killed mid-request: it may or may not have been kept
            if status == 200:
                with self._lock:
                    self.accepted.append(name)

    def _downloads(self) -> None:
        while not self.stop.is_set():
            if not self.downloading.wait(0.1):
                continue
            with self._lock:
                self.in_flight += 1
            try:
                response = requests.get(self.base_url + self.file_url, timeout=30)
                if response.status_code == 200:
                    with self._lock:
                        self.downloads += 1
            except requests.RequestException:
                pass
            finally:
                with self._lock:
                    self.in_flight -= 1

    def pause_downloads(self) -> int:
        """Stop downloading; return how many downloads completed."""
        self.downloading.clear()
        while self.in_flight:
            threading.Event().wait(0.05)
        return self.downloads


def _counted(server: LiveServer) -> int:
    rows = server.execute_sql("SELECT COALESCE(SUM(count), 0) FROM index_downloadcount")
    return int(rows[0][0])


def _wait_until_counted(server: LiveServer, downloads: int) -> None:
    """Wait for the workers' timers to write every count (a deadline, not a measure)."""
    deadline = threading.Event()
    for _ in range(600):
        if _counted(server) >= downloads:
            return
        deadline.wait(0.1)
    raise AssertionError(f"{downloads} downloads, {_counted(server)} counted after a minute")


def _restart(data_dir: Path, env: dict[str, str]) -> LiveServer:
    same_index = {k: v for k, v in env.items() if k.startswith("STRONGROOM_")}
    return start_server(
        data_dir, workers=WORKERS, extra_env=same_index, embedded=not scale_out_configured()
    )


def test_sigkill_during_uploads_and_downloads_leaves_a_consistent_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    counting = {
        "STRONGROOM_DOWNLOAD_FLUSH_EVERY": "5",
        "STRONGROOM_DOWNLOAD_FLUSH_SECONDS": "1",
    }
    first = start_server(data, workers=WORKERS, extra_env=counting)
    server = first
    repairs: list[str] = []  # each restart's output
    chance = random.Random(19)  # random points, the same ones on every run
    try:
        server.create_user("crasher", "crasher@example.org", PASSWORD)
        token = server.create_token("crasher", "crash")
        assert _post(server.base_url, token, "counted") == 200
        page = requests.get(
            server.base_url + "/simple/counted/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()
        traffic = Traffic(token, urlparse(page["files"][0]["url"]).path)
        traffic.base_url = server.base_url
        traffic.downloading.set()
        for thread in traffic.threads:
            thread.start()
        in_last_window = 0  # downloads a kill may lose: those after the last full flush
        lost = 0  # counts the kills so far lost
        try:
            for _kill in range(KILLS):
                started, downloaded = len(traffic.accepted), traffic.downloads
                while (
                    len(traffic.accepted) < started + 2
                    or traffic.downloads < downloaded + DOWNLOADS_PER_RUN
                ):
                    threading.Event().wait(0.05)
                # Everything so far is written by the timers; then downloads go on for a
                # random moment (one flush window at most) and everything is SIGKILLed.
                flushed = traffic.pause_downloads()
                _wait_until_counted(server, flushed - lost)
                traffic.downloading.set()
                threading.Event().wait(chance.uniform(0.0, 0.9))
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()
                at_kill, counted = traffic.downloads, _counted(server)
                # What was written before the kill is all there: only the window is lost.
                assert counted >= flushed - lost
                in_last_window += at_kill - flushed
                lost = at_kill - counted
                assert lost <= in_last_window
                server = _restart(data, server.env)
                repairs.append(server.log_text())
                traffic.base_url = server.base_url
        finally:
            traffic.stop.set()
            for thread in traffic.threads:
                thread.join(timeout=120)
        assert len(traffic.accepted) >= 2 * KILLS
        assert traffic.downloads >= KILLS * DOWNLOADS_PER_RUN

        # Every accepted upload is listed with its file.
        listed = requests.get(
            server.base_url + "/simple/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()
        names = {project["name"] for project in listed["projects"]}
        assert set(traffic.accepted) <= names

        # A clean stop flushes what the last server counted; only the kills lost counts.
        env = server.env
        assert server.stop() == 0
        lost = traffic.downloads - _counted(server)
        assert 0 <= lost <= in_last_window
        cleaned = sum("Repair:" in log for log in repairs)
        print(
            f"uploads accepted {len(traffic.accepted)}, listed {len(names)}; downloads "
            f"{traffic.downloads}, lost to {KILLS} kills: {lost} of the {in_last_window} "
            f"made in their windows; restarts that repaired: {cleaned}"
        )

        check = run_cli("verify-storage", "--hashes", data_dir=data, env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        audit = run_cli("audit", "verify", data_dir=data, env=env)
        assert audit.returncode == 0, audit.stdout + audit.stderr
        if not scale_out_configured():
            # The restart removed every staged copy and partial body the kills left.
            assert list((data / "files" / ".staging").glob("*")) == []
            assert list((data / "tmp").glob("upload-*.part")) == []
    finally:
        server.close()
        first.cleanup.close()
