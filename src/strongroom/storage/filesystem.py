"""Files in a folder (``settings.FILES_DIR``), moved into place after the commit."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from strongroom.storage.base import Storage, StorageUnavailable, is_safe_path


class FilesystemStorage(Storage):
    def __init__(self, root: Path | None = None, url_prefix: str = "/"):
        self.root = Path(root or settings.FILES_DIR)
        self.staging = self.root / ".staging"
        self.url_prefix = url_prefix
        self._local = threading.local()

    def _pending(self) -> list[Path]:
        if not hasattr(self._local, "pending"):
            self._local.pending = []
        pending: list[Path] = self._local.pending
        return pending

    def _full(self, path: str) -> Path:
        if not is_safe_path(path):
            raise ValueError(f"unsafe storage path: {path!r}")
        return self.root / path

    def save(self, path: str, source: Path | bytes) -> None:
        final = self._full(path)
        temp = self.staging / f"{uuid.uuid4().hex}.part"
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            if isinstance(source, bytes):
                temp.write_bytes(source)
            else:
                # A rename when on the same filesystem; a streamed copy otherwise.
                shutil.move(str(source), temp)
        except OSError as exc:  # a full disk, a missing mount, no permission
            temp.unlink(missing_ok=True)
            raise StorageUnavailable(str(exc)) from exc
        self._pending().append(temp)

        def publish() -> None:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
            if temp in self._pending():
                self._pending().remove(temp)

        transaction.on_commit(publish, robust=False)

    def discard_staged(self) -> None:
        pending = self._pending()
        while pending:
            pending.pop().unlink(missing_ok=True)

    def open(self, path: str) -> BinaryIO:
        return self._full(path).open("rb")

    def size(self, path: str) -> int:
        return self._full(path).stat().st_size

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

    def url(self, path: str) -> str:
        return f"{self.url_prefix}{path}"
