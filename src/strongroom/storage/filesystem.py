"""Files in a folder (``settings.FILES_DIR``), moved into place after the commit.

A staged file is ``.staging/<id>.staged`` with its final path in ``.staging/<id>.target``;
while its bytes are still being copied it is ``.staging/<id>.part``. Publishing is a rename
on the same filesystem. If that fails after the commit (no inode for the file's folder,
a full disk), both stay where they are and ``repair`` publishes them later.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from strongroom.storage.base import (
    RepairReport,
    Storage,
    StorageUnavailable,
    is_safe_path,
    storage_error,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Staged:
    data: Path  # .staging/<id>.staged
    target: Path  # .staging/<id>.target, holding the final path
    path: str  # the final path


class FilesystemStorage(Storage):
    def __init__(self, root: Path | None = None, url_prefix: str = "/"):
        self.root = Path(root or settings.FILES_DIR)
        self.staging = self.root / ".staging"
        self.url_prefix = url_prefix
        self._local = threading.local()

    def _pending(self) -> list[_Staged]:
        if not hasattr(self._local, "pending"):
            self._local.pending = []
        pending: list[_Staged] = self._local.pending
        return pending

    def _unpublished(self) -> list[str]:
        if not hasattr(self._local, "unpublished"):
            self._local.unpublished = []
        unpublished: list[str] = self._local.unpublished
        return unpublished

    def _full(self, path: str) -> Path:
        if not is_safe_path(path):
            raise ValueError(f"unsafe storage path: {path!r}")
        return self.root / path

    def stage(self, path: str, source: Path | bytes) -> None:
        self._full(path)  # refuses an unsafe path before anything is written
        name = uuid.uuid4().hex
        part = self.staging / f"{name}.part"
        staged = _Staged(self.staging / f"{name}.staged", self.staging / f"{name}.target", path)
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                part.write_bytes(source)
            else:
                # A rename when on the same filesystem; a streamed copy otherwise.
                shutil.move(str(source), part)
            staged.target.write_text(path, encoding="utf-8")
            os.replace(part, staged.data)
        except OSError as exc:  # a full disk, no inode, a missing mount, no permission
            part.unlink(missing_ok=True)
            staged.target.unlink(missing_ok=True)
            raise storage_error(exc) from exc
        self._pending().append(staged)

    def publish_on_commit(self) -> None:
        batch = list(self._pending())
        if batch:
            transaction.on_commit(lambda: self._publish_committed(batch))

    def _publish_committed(self, batch: list[_Staged]) -> None:
        """Runs after the commit: these are now the files of committed rows, so whatever
        happens, their staged copies are never discarded."""
        pending = self._pending()
        for staged in batch:
            if staged in pending:
                pending.remove(staged)
        for staged in batch:
            try:
                self._publish(staged)
            except OSError as exc:
                log.error(
                    "committed but not published: %s (kept as %s for repair): %s",
                    staged.path,
                    staged.data,
                    exc,
                )
                self._unpublished().append(staged.path)

    def _publish(self, staged: _Staged) -> None:
        final = self._full(staged.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.data, final)
        staged.target.unlink(missing_ok=True)

    def take_unpublished(self) -> list[str]:
        unpublished = self._unpublished()
        taken = list(unpublished)
        unpublished.clear()
        return taken

    def discard_staged(self) -> None:
        pending = self._pending()
        while pending:
            staged = pending.pop()
            staged.data.unlink(missing_ok=True)
            staged.target.unlink(missing_ok=True)

    def repair(self, is_committed: Callable[[str], bool], staged_before: float) -> RepairReport:
        report = RepairReport()
        if not self.staging.is_dir():
            return report
        for entry in sorted(self.staging.iterdir()):
            try:
                written = entry.stat().st_mtime
            except FileNotFoundError:
                continue  # published or removed meanwhile
            if entry.suffix == ".staged":
                target = entry.with_suffix(".target")
                try:
                    path = target.read_text(encoding="utf-8")
                except (FileNotFoundError, UnicodeDecodeError):
                    path = ""
                if path and is_safe_path(path) and is_committed(path):
                    try:
                        self._publish(_Staged(entry, target, path))
                    except OSError as exc:
                        log.error("could not publish %s from %s: %s", path, entry, exc)
                        report.failed.append(path)
                    else:
                        report.published.append(path)
                    continue
            elif entry.suffix == ".target" and entry.with_suffix(".staged").exists():
                continue  # handled with its .staged file
            if written < staged_before:
                entry.unlink(missing_ok=True)
                entry.with_suffix(".target").unlink(missing_ok=True)
                report.removed.append(entry.name)
        return report

    def open(self, path: str) -> BinaryIO:
        return self._full(path).open("rb")

    def size(self, path: str) -> int:
        return self._full(path).stat().st_size

    def prepare(self) -> None:
        """Create the files directory, so the readiness probe finds it before any upload."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc) from exc

    def check(self) -> None:
        """The files directory exists and this process may write into it."""
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self.root} is not a writable directory")

    def exists(self, path: str) -> bool:
        try:
            return self._full(path).is_file()
        except ValueError:
            return False

    def delete(self, path: str) -> None:
        target = self._full(path)

        def remove() -> None:
            target.unlink(missing_ok=True)
            # Tidy the now-empty content-addressed folder, never the root.
            parent = target.parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent

        transaction.on_commit(remove)

    def list_paths(self) -> Iterator[tuple[str, int]]:
        if not self.root.is_dir():
            return
        for directory, folders, names in os.walk(self.root):
            here = Path(directory)
            if here == self.root:
                folders[:] = [name for name in folders if name != ".staging"]
            for name in names:
                entry = here / name
                try:
                    size = entry.stat().st_size
                except FileNotFoundError:
                    continue  # deleted meanwhile
                yield entry.relative_to(self.root).as_posix(), size

    def copy_to(self, path: str, destination: Path) -> None:
        source = self._full(path)
        try:
            # Published files are never rewritten in place, so a link is a faithful copy.
            os.link(source, destination)
        except FileNotFoundError:
            raise
        except OSError:  # another filesystem, or links not allowed
            shutil.copyfile(source, destination)

    def url(self, path: str) -> str:
        return f"{self.url_prefix}{path}"
