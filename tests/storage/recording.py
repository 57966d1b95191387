"""A filesystem storage that notes the transaction state of each write (FILE_STORAGE seam)."""

from __future__ import annotations

from pathlib import Path

from django.db import connection

from strongroom.storage.filesystem import FilesystemStorage

STAGED_IN_TRANSACTION: list[bool] = []


class RecordingStorage(FilesystemStorage):
    def stage(self, path: str, source: Path | bytes) -> None:
        STAGED_IN_TRANSACTION.append(connection.in_atomic_block)
        super().stage(path, source)
