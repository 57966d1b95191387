"""``strongroom restore``: every byte checked first; a damaged or hostile backup, or a
data dir in use, restores nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.backup.manifest import BackupError, Manifest, entry_for
from strongroom.backup.restore import restore_backup

FILE = "files/packages/aa/bb/" + "c" * 64 + "/demo-1.0.tar.gz"


def _backup(directory: Path) -> Path:
    """A small, valid backup written by hand: database, key, one file, the manifest."""
    (directory / "files/packages/aa/bb/" / ("c" * 64)).mkdir(parents=True)
    (directory / "strongroom.sqlite3").write_bytes(b"SQLite format 3\x00 pretend")
    (directory / "secret_key").write_text("k" * 50)
    (directory / FILE).write_bytes(b"the sdist")
    Manifest(
        created="2026-12-01T00:00:00+00:00",
        serial=7,
        database=entry_for(directory, "strongroom.sqlite3"),
        secret_key=entry_for(directory, "secret_key"),
        files=[entry_for(directory, FILE)],
    ).write(directory)
    return directory


def test_a_backup_restores_into_an_empty_data_dir(tmp_path):
    manifest = restore_backup(_backup(tmp_path / "b"), tmp_path / "data")
    assert manifest.serial == 7
    assert (tmp_path / "data" / FILE).read_bytes() == b"the sdist"
    assert (tmp_path / "data/secret_key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "files",
        "secret_key",
        "strongroom.sqlite3",
    ]


def test_a_tampered_file_restores_nothing(tmp_path):
    backup = _backup(tmp_path / "b")
    (backup / FILE).write_bytes(b"the sdisT")  # same size, other bytes
    with pytest.raises(BackupError, match="does not match its hash"):
        restore_backup(backup, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_a_file_missing_from_the_backup_restores_nothing(tmp_path):
    backup = _backup(tmp_path / "b")
    (backup / FILE).unlink()
    with pytest.raises(BackupError, match="missing from the backup"):
        restore_backup(backup, tmp_path / "data")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("path", ["../outside", "/etc/passwd", "files/../../outside", ""])
def test_a_manifest_naming_a_path_outside_the_backup_is_refused(tmp_path, path):
    backup = _backup(tmp_path / "b")
    (tmp_path / "outside").write_bytes(b"x")
    data = json.loads((backup / "manifest.json").read_text())
    data["files"].append({"path": path, "sha256": "0" * 64, "size": 1})
    (backup / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(BackupError, match="outside the backup"):
        restore_backup(backup, tmp_path / "data")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("text", [None, "not json", '{"format": 1}', '{"format": 99}', "[]"])
def test_a_folder_without_a_sound_manifest_is_not_restored(tmp_path, text):
    backup = _backup(tmp_path / "b")
    if text is None:
        (backup / "manifest.json").unlink()
    else:
        (backup / "manifest.json").write_text(text)
    with pytest.raises(BackupError):
        restore_backup(backup, tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_a_data_dir_in_use_is_refused_unless_forced(tmp_path):
    backup = _backup(tmp_path / "b")
    data = tmp_path / "data"
    (data / "files/packages/old").mkdir(parents=True)
    (data / "files/packages/old/old-0.1.tar.gz").write_bytes(b"old")
    (data / "strongroom.sqlite3").write_bytes(b"the current database")
    (data / "strongroom.sqlite3-wal").write_bytes(b"its log")
    (data / "outbox").mkdir()
    with pytest.raises(BackupError, match="not empty"):
        restore_backup(backup, data)
    assert (data / "strongroom.sqlite3").read_bytes() == b"the current database"

    restore_backup(backup, data, force=True)
    assert (data / "strongroom.sqlite3").read_bytes().startswith(b"SQLite format 3")
    assert not (data / "strongroom.sqlite3-wal").exists()  # an old log must not replay
    assert not (data / "files/packages/old").exists()
    assert (data / FILE).read_bytes() == b"the sdist"
    assert (data / "outbox").is_dir()  # what a restore does not own stays
    assert sorted(p.name for p in data.iterdir()) == [
        "files",
        "outbox",
        "secret_key",
        "strongroom.sqlite3",
    ]
