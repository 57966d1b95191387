"""``strongroom restore``: put a backup back into a data directory, all or nothing.

Every byte is checked against the manifest before the target is touched. The restored
parts are assembled in a folder inside the target, then renamed into place; a target
that already holds anything is refused unless ``force`` is given (its database, files
and key are then replaced; the rest, such as the outbox, is left).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from strongroom.backup.manifest import (
    DATABASE,
    FILES,
    KEY_FILE,
    BackupError,
    Manifest,
    check_entries,
)

# What a restore replaces in the target; SQLite's side files of an old database go too.
_REPLACED = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", KEY_FILE, FILES)


def restore_backup(source: Path, target: Path, *, force: bool = False) -> Manifest:
    """Restore the backup in ``source`` into the data dir ``target``; return its manifest."""
    manifest = Manifest.read(source)
    problems = check_entries(source, manifest)
    if problems:
        raise BackupError(
            f"the backup in {source} is damaged, nothing was restored: " + "; ".join(problems)
        )
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is not a folder.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise BackupError(
            f"{target} is not empty: restore into an empty folder, or pass --force to "
            "replace its database, files and key"
        )
    target.mkdir(parents=True, exist_ok=True)
    work = target / f".restore-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        for entry in manifest.entries():
            destination = work / entry.path
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / entry.path, destination)
        (work / FILES).mkdir(exist_ok=True)
        if manifest.secret_key:
            os.chmod(work / KEY_FILE, 0o600)
        # The copies may differ from what was checked if the backup changed meanwhile.
        problems = check_entries(work, manifest)
        if problems:
            raise BackupError("the backup changed while it was restored: " + "; ".join(problems))
        _swap_in(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _swap_in(work: Path, target: Path) -> None:
    old = work / ".replaced"
    old.mkdir()
    for name in _REPLACED:
        if (target / name).exists():
            os.replace(target / name, old / name)
    for name in (DATABASE, KEY_FILE, FILES):
        if (work / name).exists():
            os.replace(work / name, target / name)
