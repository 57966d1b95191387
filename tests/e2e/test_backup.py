"""Backups of a running index: taken under load, restored into a fresh data dir, equal to
the source at the backup's serial, audit chain intact."""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from tests.e2e.clients import PASSWORD, isolated_env, run
from tests.e2e.server import LiveServer, run_cli, running_server
from tests.e2e.test_read_path import _upload

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def _index(server: LiveServer) -> dict[str, Any]:
    response = requests.get(server.base_url + "/simple/", headers=JSON, timeout=30)
    assert response.status_code == 200
    return dict(response.json())


def _project_page(server: LiveServer, name: str) -> dict[str, Any]:
    """The project's JSON page, with file URLs reduced to their path (hosts differ)."""
    response = requests.get(f"{server.base_url}/simple/{name}/", headers=JSON, timeout=30)
    assert response.status_code == 200, (name, response.status_code)
    page = dict(response.json())
    for file in page["files"]:
        file["url"] = urlparse(file["url"]).path
    return page


def _download_sha256(server: LiveServer, url_path: str) -> str:
    response = requests.get(server.base_url + url_path, timeout=30)
    assert response.status_code == 200, url_path
    return hashlib.sha256(response.content).hexdigest()


class Load:
    """Threads uploading new projects and downloading what is listed, until stopped."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server, self.token = server, token
        self.stop = threading.Event()
        self.uploaded: list[str] = []
        self.downloads = 0
        self.errors: list[BaseException] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._guard, args=(work,))
            for work in (self._upload, self._upload, self._download)
        ]

    def _guard(self, work: Any) -> None:
        try:
            while not self.stop.is_set():
                work()
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def _upload(self) -> None:
        with self._lock:
            name = f"loaded-{next(self._numbers)}"
        _upload(self.server, self.token, name, "1.0")
        with self._lock:
            self.uploaded.append(name)

    def _download(self) -> None:
        with self._lock:
            names = list(self.uploaded[-3:])
        for name in names:
            page = _project_page(self.server, name)
            for file in page["files"]:
                assert _download_sha256(self.server, file["url"]) == file["hashes"]["sha256"]
                with self._lock:
                    self.downloads += 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)


def test_a_backup_taken_under_load_restores_the_index_as_it_was_at_its_serial(
    tmp_path: Path,
) -> None:
    source_dir, backup_dir, restored_dir = tmp_path / "source", tmp_path / "backup", tmp_path / "r"
    with running_server(source_dir, embedded=True) as source:
        source.create_user("loader", "loader@example.org", PASSWORD)
        token = source.create_token("loader", "load")
        _upload(source, token, "before-backup", "1.0")
        with Load(source, token) as load:
            while len(load.uploaded) < 4 and not load.errors:
                threading.Event().wait(0.1)  # let uploads and downloads get going
            result = run_cli("backup", "--to", str(backup_dir), data_dir=source_dir)
            written = len(load.uploaded)
            while len(load.uploaded) < written + 3 and not load.errors:
                threading.Event().wait(0.1)  # and keep going after the backup
        assert not load.errors, load.errors
        assert result.returncode == 0, result.stdout + result.stderr
        assert load.downloads > 0
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        serial = manifest["serial"]

        # The source's state at the backup's moment: every project last changed at or
        # before the serial (the load only adds projects, each in one upload).
        pages = {entry["name"]: _project_page(source, entry["name"]) for entry in
                 _index(source)["projects"]}  # fmt: skip
        at_backup = {name: page for name, page in pages.items()
                     if page["meta"]["_last-serial"] <= serial}  # fmt: skip
        assert len(at_backup) < len(pages), "uploads went on after the backup"
        assert "before-backup" in at_backup and len(at_backup) >= 5

    restored = run_cli("restore", "--from", str(backup_dir), data_dir=restored_dir)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"at serial {serial}" in restored.stdout
    again = run_cli("restore", "--from", str(backup_dir), data_dir=restored_dir)
    assert again.returncode == 1 and "is not empty" in again.stderr  # never over a data dir
    audit = run_cli("audit", "verify", data_dir=restored_dir)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    check = run_cli("verify-storage", "--hashes", data_dir=restored_dir)
    assert check.returncode == 0, check.stdout + check.stderr

    with running_server(restored_dir, embedded=True) as copy:
        index = _index(copy)
        assert index["meta"]["_last-serial"] == serial
        assert sorted(entry["name"] for entry in index["projects"]) == sorted(at_backup)
        for name, page in at_backup.items():
            assert _project_page(copy, name) == page
            for file in page["files"]:
                assert _download_sha256(copy, file["url"]) == file["hashes"]["sha256"]
        # The restored key verifies the API token made before the backup.
        _upload(copy, token, "after-restore", "1.0")
        target = tmp_path / "downloaded"
        run(
            [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--no-deps",
             "--dest", str(target), "--index-url", f"{copy.base_url}/simple/",
             "before-backup", "after-restore"],
            isolated_env(tmp_path / "home"),
        )  # fmt: skip
        wheels = sorted(path.name for path in target.iterdir())
        assert wheels == [
            "after_restore-1.0-py3-none-any.whl",
            "before_backup-1.0-py3-none-any.whl",
        ]


def test_verify_storage_names_a_missing_file_and_a_planted_one(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        server.create_user("owner", "owner@example.org", PASSWORD)
        _upload(server, server.create_token("owner", "ci"), "checked", "1.0")
        env = server.env
        fine = run_cli("verify-storage", "--hashes", data_dir=server.data_dir, env=env)
        assert fine.returncode == 0, fine.stdout + fine.stderr
        assert "2 object(s) expected, 2 in storage: 0 missing" in fine.stdout
        (wheel,) = server.execute_sql("SELECT path FROM packages_file")[0]
        server.django(
            f"""
            from strongroom.storage import get_storage
            from strongroom.storage.s3 import S3Storage
            from django.conf import settings
            from pathlib import Path
            storage = get_storage()
            if isinstance(storage, S3Storage):
                storage.backend.bucket.Object(storage.key("{wheel}")).delete()
                storage.backend.bucket.put_object(Key=storage.key("planted.whl"), Body=b"x")
            else:
                (Path(settings.FILES_DIR) / "{wheel}").unlink()
                (Path(settings.FILES_DIR) / "planted.whl").write_bytes(b"x")
            """
        )
        broken = run_cli("verify-storage", data_dir=server.data_dir, env=env)
        assert broken.returncode == 1
        assert f"missing from storage: {wheel}" in broken.stdout
        assert "no row references: planted.whl" in broken.stdout
