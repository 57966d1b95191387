"""Stream the uploaded file to a temporary file while hashing it: memory stays flat."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import HttpRequest

CONTENT_FIELD = "content"


class HashedUpload(UploadedFile):
    """The ``content`` file on disk, with the digests computed while it arrived."""

    def __init__(self, path: Path, name: str, size: int, digests: dict[str, str]):
        super().__init__(file=None, name=name, size=size)
        self.path = path
        self.sha256 = digests["sha256"]
        self.blake2_256 = digests["blake2_256"]
        self.md5 = digests["md5"]

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class HashingUploadHandler(FileUploadHandler):
    """Accepts one file field, ``content``; other file fields are skipped and noted.

    Bytes beyond ``max_size`` stop the upload (``too_large`` is set) and the partial
    file is removed; so does a local write error (a full disk, no inode for the temporary
    file), which is kept in ``write_error`` for the answer.
    """

    chunk_size = 256 * 1024

    def __init__(self, request: HttpRequest, max_size: int):
        super().__init__(request)
        self.max_size = max_size
        self.too_large = False
        self.write_error: OSError | None = None
        self.unexpected_fields: list[str] = []
        self._handle: Any = None
        self._path: Path | None = None
        self._size = 0
        self._hashes: dict[str, Any] = {}
        self.result: HashedUpload | None = None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != CONTENT_FIELD or self._handle is not None or self.result is not None:
            self.unexpected_fields.append(field_name)
            raise SkipFile()
        directory = Path(settings.UPLOAD_TEMP_DIR)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
        except OSError as exc:
            self._stop_on_write_error(exc)
        self._handle = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._size = 0
        self._hashes = {
            "sha256": hashlib.sha256(),
            "blake2_256": hashlib.blake2b(digest_size=32),
            "md5": hashlib.md5(usedforsecurity=False),
        }

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > self.max_size:
            self.too_large = True
            self._abandon()
            raise StopUpload(connection_reset=False)
        for digest in self._hashes.values():
            digest.update(raw_data)
        try:
            self._handle.write(raw_data)
        except OSError as exc:
            self._stop_on_write_error(exc)
        return None

    def file_complete(self, file_size: int) -> HashedUpload | None:
        if self._handle is None or self._path is None:
            return None
        try:
            self._handle.close()  # writes what is still buffered
        except OSError as exc:
            self._stop_on_write_error(exc)
        self._handle = None
        self.result = HashedUpload(
            self._path,
            self.file_name or "",
            self._size,
            {key: value.hexdigest() for key, value in self._hashes.items()},
        )
        return self.result

    def _stop_on_write_error(self, error: OSError) -> NoReturn:
        self.write_error = error
        self._abandon()
        raise StopUpload(connection_reset=False)

    def upload_interrupted(self) -> None:
        self._abandon()

    def _abandon(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):  # a full disk fails the final flush too
                self._handle.close()
            self._handle = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Remove whatever is left on disk (called after every request)."""
        self._abandon()
        if self.result is not None:
            self.result.discard()
