"""``strongroom backup``: an online backup of the embedded shape, consistent while it runs.

The order makes the parts agree. First the database, with SQLite's online backup API: one
consistent snapshot, taken while the server keeps writing. Then every file that snapshot
references, copied (hard-linked where possible) through the storage interface: published
files are immutable, and a file's row is committed before the file is published, so each
one is there, unless it was removed after the snapshot (its row is gone from the live
database) or is being published right now. Either way the whole snapshot is taken again,
keeping the files already copied. The key material goes with them, then the manifest.

The backup is written beside its target and renamed into place at the end: a backup that
failed half-way leaves nothing that looks like a backup.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from strongroom.backup.manifest import (
    DATABASE,
    FILES,
    KEY_FILE,
    BackupError,
    Entry,
    Manifest,
    entry_for,
)
from strongroom.storage import get_storage
from strongroom.storage.base import is_safe_path

# How many snapshots to try before giving up on a file that keeps being absent.
ATTEMPTS = 5


@dataclass(frozen=True)
class Referenced:
    """A storage object the snapshot's rows need, with the digest they record."""

    path: str
    sha256: str


def database_path() -> Path:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        raise BackupError(
            "strongroom backup copies the embedded SQLite database; with PostgreSQL and a "
            "bucket, follow the pg_dump and bucket sync steps of docs/deployment.md."
        )
    return Path(str(database["NAME"]))


def snapshot_database(source: Path, target: Path) -> None:
    """Copy the live database to ``target`` in one step of the online backup API."""
    target.unlink(missing_ok=True)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}: is --data-dir right?")
    # Not read-only: a WAL database whose server has stopped has no shared-memory file,
    # and only a connection that may create it can read it. Nothing is written.
    live = sqlite3.connect(source, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)  # all pages at once: one read transaction, one snapshot
        finally:
            copy.close()
    finally:
        live.close()


def referenced_objects(snapshot: Path) -> tuple[int, list[Referenced]]:
    """The snapshot's index serial and every object its file rows reference."""
    db = sqlite3.connect(snapshot)
    try:
        serial_row = db.execute("SELECT MAX(value) FROM packages_indexserial").fetchone()
        rows = db.execute(
            "SELECT path, sha256_digest, metadata_sha256 FROM packages_file ORDER BY path"
        ).fetchall()
    finally:
        db.close()
    objects = []
    for path, sha256, metadata_sha256 in rows:
        objects.append(Referenced(path, sha256))
        if metadata_sha256:
            objects.append(Referenced(f"{path}.metadata", metadata_sha256))
    return int(serial_row[0] or 0), objects


def _copy_objects(objects: list[Referenced], files: Path) -> tuple[list[Entry], list[str]]:
    """Copy what is not copied yet; return the entries and the paths that were absent."""
    storage = get_storage()
    entries, absent = [], []
    for item in objects:
        if not is_safe_path(item.path):
            raise BackupError(f"the database references an unsafe file path: {item.path!r}")
        destination = files / item.path
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                storage.copy_to(item.path, destination)
            except FileNotFoundError:
                absent.append(item.path)
                continue
        entry = entry_for(files.parent, f"{FILES}/{item.path}")
        if entry.sha256 != item.sha256:
            raise BackupError(
                f"{item.path} in storage does not match the hash its row records; "
                "run strongroom verify-storage --hashes"
            )
        entries.append(entry)
    return entries, absent


def _prune(files: Path, keep: set[str]) -> None:
    """Remove copies an earlier attempt made of files the final snapshot does not have."""
    for directory, _folders, names in os.walk(files):
        for name in names:
            full = Path(directory) / name
            if full.relative_to(files.parent).as_posix() not in keep:
                full.unlink()


def _secret_key(work: Path) -> Entry | None:
    """Copy the instance secret when it lives in the data dir (not in the environment)."""
    source = Path(settings.DATA_DIR) / KEY_FILE
    try:
        in_use = source.read_text(encoding="utf-8").strip() == settings.SECRET_KEY
    except (FileNotFoundError, UnicodeDecodeError):
        in_use = False
    if not in_use:
        return None
    shutil.copyfile(source, work / KEY_FILE)
    os.chmod(work / KEY_FILE, 0o600)
    return entry_for(work, KEY_FILE)


def take_backup(target: Path) -> Manifest:
    """Write a backup of the running index to ``target`` (absent or an empty folder)."""
    source = database_path()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty folder.")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f".{target.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        manifest = _fill(work, source)
        if target.exists():
            target.rmdir()
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _fill(work: Path, source: Path) -> Manifest:
    files = work / FILES
    files.mkdir()
    for attempt in range(ATTEMPTS):
        created = timezone.now().isoformat()
        snapshot_database(source, work / DATABASE)
        serial, objects = referenced_objects(work / DATABASE)
        entries, absent = _copy_objects(objects, files)
        if not absent:
            break
        # Removed after the snapshot, or committed and still being published: snapshot
        # again (what was copied stays), a little later each time.
        time.sleep(0.2 * (attempt + 1))
    else:
        raise BackupError(
            f"{len(absent)} file(s) the database lists are not in storage, e.g. {absent[0]}; "
            "run strongroom repair, then strongroom verify-storage"
        )
    _prune(files, {entry.path for entry in entries})
    manifest = Manifest(
        created=created,
        serial=serial,
        database=entry_for(work, DATABASE),
        secret_key=_secret_key(work),
        files=entries,
    )
    manifest.write(work)
    return manifest
