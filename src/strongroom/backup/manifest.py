"""The manifest of a backup: what it holds and the hash of every byte of it.

A backup directory holds ``strongroom.sqlite3`` (the database snapshot), ``secret_key``
(when the instance's key lives in the data dir), ``files/<path>`` for every file the
snapshot references, and ``manifest.json``, written last: a directory without it is not
a backup.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "strongroom.sqlite3"
KEY_FILE = "secret_key"
FILES = "files"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in one sentence."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the backup directory, "/"-separated
    sha256: str
    size: int


@dataclass
class Manifest:
    created: str
    serial: int  # the index serial of the snapshot: every change after it is not in here
    database: Entry
    secret_key: Entry | None
    files: list[Entry] = field(default_factory=list)
    format: int = FORMAT

    def entries(self) -> list[Entry]:
        extra = [self.secret_key] if self.secret_key else []
        return [self.database, *extra, *self.files]

    def write(self, directory: Path) -> None:
        text = json.dumps(asdict(self), indent=1, sort_keys=True)
        (directory / MANIFEST).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{directory} is not a backup: it has no {MANIFEST}.") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BackupError(f"the manifest of {directory} cannot be read: {exc}") from None
        try:
            if data["format"] != FORMAT:
                raise BackupError(f"the backup's format {data['format']!r} is not {FORMAT}.")
            secret = data["secret_key"]
            return cls(
                created=str(data["created"]),
                serial=int(data["serial"]),
                database=Entry(**data["database"]),
                secret_key=Entry(**secret) if secret else None,
                files=[Entry(**item) for item in data["files"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"the manifest of {directory} is malformed: {exc!r}") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def entry_for(directory: Path, relative: str) -> Entry:
    full = directory / relative
    return Entry(relative, file_sha256(full), full.stat().st_size)


def is_inside(relative: str) -> bool:
    """A manifest path that stays inside the backup directory (a hostile manifest may
    name ``../../etc/passwd``)."""
    parts = relative.split("/")
    return (
        bool(relative)
        and not relative.startswith("/")
        and "\\" not in relative
        and all(part not in {"", ".", ".."} for part in parts)
        and "\x00" not in relative
    )


def check_entries(directory: Path, manifest: Manifest) -> list[str]:
    """Every problem with the backup's bytes, one sentence each (empty: all intact)."""
    problems = []
    for entry in manifest.entries():
        if not is_inside(entry.path):
            problems.append(f"the manifest names a path outside the backup: {entry.path!r}")
            continue
        full = directory / entry.path
        if not full.is_file():
            problems.append(f"{entry.path} is missing from the backup")
        elif full.stat().st_size != entry.size or file_sha256(full) != entry.sha256:
            problems.append(f"{entry.path} does not match its hash in the manifest")
    return problems
