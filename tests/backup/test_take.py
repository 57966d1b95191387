"""``strongroom backup``: a snapshot and exactly the files it references, even when files
are removed while it runs; nothing that looks like a backup when it fails."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from strongroom.accounts.actors import Actor
from strongroom.backup import take
from strongroom.backup.manifest import BackupError, Manifest, check_entries
from strongroom.packages.models import File, IndexSerial
from strongroom.packages.services import remove_file
from tests.backup.helpers import put_raw, read_raw, remove_raw
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_database(tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """The test database (in memory) as a file the backup reads: refreshed before every
    snapshot, so the backup sees each change the test makes, as it would the server's."""
    if connection.vendor != "sqlite":
        pytest.skip("strongroom backup is for the embedded SQLite database")
    path = tmp_path / "live.sqlite3"
    real_snapshot = take.snapshot_database

    def refreshed_snapshot(source: Path, target: Path) -> None:
        connection.ensure_connection()
        out = sqlite3.connect(path)
        connection.connection.backup(out)
        out.close()
        real_snapshot(source, target)

    monkeypatch.setattr(take, "database_path", lambda: path)
    monkeypatch.setattr(take, "snapshot_database", refreshed_snapshot)
    return path


@pytest.fixture
def two_files(client, user) -> list[File]:  # type: ignore[no-untyped-def]
    for version in ("1.0", "2.0"):
        assert post_upload(client, upload_form(version=version)).status_code == 200
    return list(File.objects.order_by("filename"))


def _files_in(backup: Path) -> list[str]:
    root = backup / "files"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_backup_holds_the_snapshot_its_files_and_their_hashes(live_database, two_files, tmp_path):
    manifest = take.take_backup(tmp_path / "backup")
    expected = sorted(p for f in two_files for p in (f.path, f.metadata_path))
    assert _files_in(tmp_path / "backup") == expected
    assert manifest.serial == IndexSerial.objects.get().value
    assert Manifest.read(tmp_path / "backup") == manifest
    assert check_entries(tmp_path / "backup", manifest) == []
    assert (
        read_raw(two_files[0].path) == (tmp_path / "backup/files" / two_files[0].path).read_bytes()
    )


def test_a_file_removed_after_the_snapshot_makes_a_new_snapshot(
    live_database, two_files, user, tmp_path, monkeypatch
):
    """The first snapshot still lists 2.0, removed before its file is copied: the backup
    must not list a file it does not hold, nor hold one its database does not list."""
    removed = two_files[1]
    snapshot = take.snapshot_database
    calls: list[int] = []

    def snapshot_then_remove(source: Path, target: Path) -> None:
        snapshot(source, target)
        if not calls:
            remove_file(Actor.of(user), removed)
        calls.append(1)

    monkeypatch.setattr(take, "snapshot_database", snapshot_then_remove)
    manifest = take.take_backup(tmp_path / "backup")
    assert len(calls) == 2
    kept = two_files[0]
    assert _files_in(tmp_path / "backup") == sorted([kept.path, kept.metadata_path])
    assert [entry.path for entry in manifest.files] == [
        f"files/{path}" for path in sorted([kept.path, kept.metadata_path])
    ]
    db = sqlite3.connect(tmp_path / "backup/strongroom.sqlite3")
    assert db.execute("SELECT filename FROM packages_file").fetchall() == [(kept.filename,)]
    assert manifest.serial == IndexSerial.objects.get().value  # after the removal


def test_a_file_missing_for_good_fails_and_leaves_nothing(
    live_database, two_files, tmp_path, monkeypatch
):
    monkeypatch.setattr(take.time, "sleep", lambda seconds: None)
    remove_raw(two_files[0].path)
    with pytest.raises(BackupError, match=re.escape("not in storage, e.g. " + two_files[0].path)):
        take.take_backup(tmp_path / "out" / "backup")
    assert list((tmp_path / "out").iterdir()) == []  # no partial backup beside it either


def test_a_file_whose_bytes_differ_from_its_row_fails(live_database, two_files, tmp_path):
    original = read_raw(two_files[0].path)
    put_raw(two_files[0].path, bytes([original[0] ^ 1]) + original[1:])
    with pytest.raises(BackupError, match="does not match the hash its row records"):
        take.take_backup(tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


def test_a_backup_never_writes_into_a_folder_in_use(live_database, two_files, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="not an empty folder"):
        take.take_backup(tmp_path / "backup")
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["keep.txt"]


def test_a_postgresql_index_is_pointed_to_pg_dump(settings, monkeypatch):
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.postgresql")
    with pytest.raises(BackupError, match=r"pg_dump and bucket sync steps of docs/deployment\.md"):
        take.database_path()
