"""SIGKILL in the middle of uploads, yanks, un-yanks and downloads, again and again: after
a restart no partial file, no row without its file, no object without its row, no
accepted upload lost, no acknowledged yank lost, every yank's row, pre-rendered page and
audit event agreeing, download counts within the flush window, and an audit chain that
verifies."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.distributions import upload_form
from tests.e2e import listing
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer, run_cli, scale_out_configured, start_server

pytestmark = pytest.mark.e2e

KILLS = 5
WORKERS = 2
DOWNLOADS_PER_RUN = 100
YANKS_PER_RUN = 3
YANKED = "yanked"  # the project whose releases are yanked and un-yanked throughout
YANKED_VERSIONS = ("1.0", "1.1", "1.2", "1.3")


def _post(base_url: str, token: str, name: str, version: str = "1.0") -> int:
    form = upload_form(name=name, version=version)
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


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Yanker:
    """An Owner's browser session yanking and un-yanking releases through the web pages,
    one after another, whichever server runs. Each release's last acknowledged state is
    kept, and whether a request that may have changed it went unanswered since."""

    def __init__(self, traffic: Traffic) -> None:
        self.traffic = traffic
        self.session = requests.Session()
        self.acknowledged = dict.fromkeys(YANKED_VERSIONS, False)
        self.unsure: set[str] = set()  # a POST went unanswered after the last answer
        self.answered = 0
        self.interrupted = 0  # POSTs cut off by a kill

    def log_in(self) -> None:
        status, _location = self._submit(
            "/account/login/", {"login": "crasher", "password": PASSWORD}
        )
        assert status == 302

    def _submit(self, path: str, fields: dict[str, str]) -> tuple[int, str]:
        base = self.traffic.base_url
        page = self.session.get(base + path, timeout=30)
        token = _CSRF.search(page.text)
        assert token, page.text[:300]
        response = self.session.post(
            base + path,
            data={**fields, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": base + path},
            allow_redirects=False,
            timeout=30,
        )
        return response.status_code, response.headers.get("Location", "") + response.text

    def run(self) -> None:
        for version in itertools.cycle(YANKED_VERSIONS):
            if self.traffic.stop.is_set():
                return
            yank = not self.acknowledged[version]
            action = "yank" if yank else "unyank"
            path = f"/manage/project/{YANKED}/release/{version}/{action}/"
            fields = {"confirm": version, "reason": f"crash test {version}"}
            try:
                base = self.traffic.base_url
                page = self.session.get(base + path, timeout=30)
                token = _CSRF.search(page.text)
                if page.status_code != 200 or token is None:
                    continue  # a server starting up: nothing was sent
            except requests.RequestException:
                continue  # nothing was changed by a GET
            try:
                response = self.session.post(
                    base + path,
                    data={**fields, "csrfmiddlewaretoken": token.group(1)},
                    headers={"Referer": base + path},
                    allow_redirects=False,
                    timeout=30,
                )
            except requests.RequestException:
                self.unsure.add(version)  # killed mid-request: it may or may not have been kept
                self.interrupted += 1
                continue
            done = response.status_code == 302 and f"/project/{YANKED}/" in response.headers.get(
                "Location", ""
            )
            if done:
                self.acknowledged[version] = yank
            elif response.status_code == 400 and "already yanked" in response.text:
                self.acknowledged[version] = True  # an unanswered yank was kept
            elif response.status_code == 400 and "is not yanked" in response.text:
                self.acknowledged[version] = False  # an unanswered un-yank was kept
            else:
                raise AssertionError(
                    f"{action} {version}: {response.status_code} {response.text[:300]}"
                )
            self.unsure.discard(version)
            self.answered += 1


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
        self.yanker = Yanker(self)
        self.threads.append(threading.Thread(target=self.yanker.run))

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


def _json(value: Any) -> Any:
    """A JSON column as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes | memoryview) else value


def _yanked_rows(server: LiveServer) -> dict[str, tuple[bool, str]]:
    rows = server.execute_sql(
        "SELECT r.version, r.yanked, r.yanked_reason FROM packages_release r "
        "JOIN packages_project p ON p.id = r.project_id WHERE p.normalized_name = 'yanked'"
    )
    return {version: (bool(yanked), reason) for version, yanked, reason in rows}


def check_yanks(server: LiveServer, yanker: Yanker) -> None:
    """What yanks change agrees everywhere: each row's flag and reason, every acknowledged
    yank or un-yank, the pre-rendered simple page of every project, and the audit events
    (one per change, alternating, ending in the row's state)."""
    rows = _yanked_rows(server)
    assert set(rows) == set(YANKED_VERSIONS)
    for version, (yanked, reason) in rows.items():
        assert yanked == bool(reason), (version, yanked, reason)  # a reason only while yanked
        if version not in yanker.unsure:
            assert yanked == yanker.acknowledged[version], version
    # Every stored page is current (written in the change's own transaction) and says what
    # the rows say.
    pages = server.execute_sql(
        "SELECT p.normalized_name, p.last_serial, s.serial, s.json FROM packages_project p "
        "LEFT JOIN index_simplepage s ON s.project_id = p.id"
    )
    for name, last_serial, serial, body in pages:
        assert serial == last_serial, (name, last_serial, serial)
        if name == YANKED:
            files = _json(bytes(body))["files"]
            assert len(files) == len(YANKED_VERSIONS)
            for entry in files:
                version = entry["filename"].split("-")[1]
                yanked, reason = rows[version]
                assert entry["yanked"] == (reason if yanked else False), (entry, rows[version])
    events = server.execute_sql(
        "SELECT e.tag, e.extra FROM events_event e JOIN packages_project p ON p.id = e.project_id "
        "WHERE p.normalized_name = 'yanked' AND e.tag IN "
        "('project:release:yank', 'project:release:unyank') ORDER BY e.sequence"
    )
    history: dict[str, list[str]] = {version: [] for version in YANKED_VERSIONS}
    for tag, extra in events:
        history[_json(extra)["version"]].append(tag.rsplit(":", 1)[1])
    for version, actions in history.items():
        expected = ["yank", "unyank"] * len(actions)
        assert actions == expected[: len(actions)], (version, actions)
        assert (actions[-1:] == ["yank"]) == rows[version][0], (version, actions)


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
        # The yanking session keeps its password proof for the whole test.
        "STRONGROOM_REAUTH_MAX_AGE": "3600",
    }
    first = start_server(data, workers=WORKERS, extra_env=counting)
    server = first
    repairs: list[str] = []  # each restart's output
    chance = random.Random(19)  # random points, the same ones on every run
    try:
        server.create_user("crasher", "crasher@example.org", PASSWORD)
        token = server.create_token("crasher", "crash")
        assert _post(server.base_url, token, "counted") == 200
        for version in YANKED_VERSIONS:
            assert _post(server.base_url, token, YANKED, version) == 200
        page = requests.get(
            server.base_url + "/simple/counted/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()
        traffic = Traffic(token, urlparse(page["files"][0]["url"]).path)
        traffic.base_url = server.base_url
        traffic.yanker.log_in()
        traffic.downloading.set()
        for thread in traffic.threads:
            thread.start()
        in_last_window = 0  # downloads a kill may lose: those after the last full flush
        lost = 0  # counts the kills so far lost
        try:
            for _kill in range(KILLS):
                started, downloaded = len(traffic.accepted), traffic.downloads
                yanked = traffic.yanker.answered
                while (
                    len(traffic.accepted) < started + 2
                    or traffic.downloads < downloaded + DOWNLOADS_PER_RUN
                    or traffic.yanker.answered < yanked + YANKS_PER_RUN
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
                # Downloads answered just before the kill are counted by their threads a
                # moment later: wait for every request in flight to end before reading.
                at_kill, counted = traffic.pause_downloads(), _counted(server)
                # What was written before the kill is all there: only the window is lost.
                assert counted >= flushed - lost
                in_last_window += at_kill - flushed
                lost = at_kill - counted
                assert lost <= in_last_window
                server = _restart(data, server.env)
                repairs.append(server.log_text())
                traffic.base_url = server.base_url
                traffic.downloading.set()
        finally:
            traffic.stop.set()
            for thread in traffic.threads:
                thread.join(timeout=120)
        assert len(traffic.accepted) >= 2 * KILLS
        assert traffic.downloads >= KILLS * DOWNLOADS_PER_RUN

        # Every accepted upload is listed with its file.
        # (On PostgreSQL the root follows the last new project within its background
        # render: waited for, bounded; on SQLite required of the very next request.)
        listed = listing.index_when(
            server.base_url, lambda index: set(traffic.accepted) <= set(listing.names(index))
        )
        names = set(listing.names(listed))
        # The yanks as installers see them match the rows.
        page = requests.get(
            server.base_url + f"/simple/{YANKED}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=30,
        ).json()
        rows = _yanked_rows(server)
        for entry in page["files"]:
            yanked, reason = rows[entry["filename"].split("-")[1]]
            assert entry["yanked"] == (reason if yanked else False), entry

        # A clean stop flushes what the last server counted; only the kills lost counts.
        env = server.env
        assert server.stop() == 0
        lost = traffic.downloads - _counted(server)
        assert 0 <= lost <= in_last_window
        check_yanks(server, traffic.yanker)
        assert traffic.yanker.answered >= KILLS * YANKS_PER_RUN
        cleaned = sum("Repair:" in log for log in repairs)
        print(
            f"yanks and un-yanks answered {traffic.yanker.answered}, cut off by a kill "
            f"{traffic.yanker.interrupted}, unsure at the end {sorted(traffic.yanker.unsure)}; "
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
