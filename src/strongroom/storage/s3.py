"""Files in an S3-compatible bucket (``settings.S3_BUCKET`` under ``settings.S3_PREFIX``).

Writes keep the interface's promise: ``stage`` uploads to a staging key before the
transaction (so an unreachable store fails the upload before anything is committed, and
no lock is held while the bytes travel), and the commit copies it to its final key and
deletes the staging object. A rolled-back transaction deletes its staged objects, so
nothing is left behind; a copy that fails after the commit keeps the staged object (its
user metadata names the final path) for ``repair``. Final keys are
content-addressed, which is why a copy (not a direct write) is used: two racing uploads
of the same file must never let the loser remove what the winner published.

The client comes from django-storages (credentials, endpoint, presigned URLs); reads
use ranged ``GetObject`` requests so HTTP Range downloads stream without buffering.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from storages.backends.s3 import S3Storage as DjangoS3Storage

from strongroom.storage.base import (
    RepairReport,
    Storage,
    StorageUnavailable,
    is_safe_path,
    storage_error,
)

log = logging.getLogger(__name__)

_MISSING = {"404", "NoSuchKey", "NotFound"}
# The user-metadata key of a staged object that names its final path.
_TARGET = "strongroom-target"


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING


def _unavailable(error: Exception) -> StorageUnavailable:
    log.warning("file storage unavailable: %s", error)
    return StorageUnavailable(str(error))


class _ObjectReader(io.RawIOBase):
    """A seekable, read-only view of one object; each seek starts a ranged GET."""

    def __init__(self, obj: Any, size: int):
        self._obj = obj
        self._size = size
        self._pos = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        position = max(0, base + offset)
        if position != self._pos:
            self._drop_body()
            self._pos = position
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size:
            return 0
        if self._body is None:
            try:
                self._body = self._obj.get(Range=f"bytes={self._pos}-")["Body"]
            except (BotoCoreError, ClientError) as exc:
                raise _unavailable(exc) from exc
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, ClientError, OSError) as exc:  # the body broke off
            self._drop_body()
            raise _unavailable(exc) from exc
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


class S3Storage(Storage):
    shared = True

    def __init__(self, bucket: str | None = None, prefix: str | None = None):
        self.bucket_name = bucket or settings.S3_BUCKET
        self.prefix = (settings.S3_PREFIX if prefix is None else prefix).strip("/")
        self.backend = DjangoS3Storage(
            bucket_name=self.bucket_name,
            endpoint_url=settings.S3_ENDPOINT_URL or None,
            access_key=settings.S3_ACCESS_KEY_ID or None,
            secret_key=settings.S3_SECRET_ACCESS_KEY or None,
            region_name=settings.S3_REGION,
            addressing_style=settings.S3_ADDRESSING_STYLE or None,
            signature_version="s3v4",
            querystring_auth=True,
            querystring_expire=settings.PRESIGNED_URL_SECONDS,
            file_overwrite=True,
            client_config=Config(
                connect_timeout=3,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": settings.S3_ADDRESSING_STYLE or "auto"},
                signature_version="s3v4",
            ),
        )
        self._local = threading.local()
        self._bucket_ready = False

    # --- keys ----------------------------------------------------------------------------

    def key(self, path: str) -> str:
        if not is_safe_path(path):
            raise ValueError(f"unsafe storage path: {path!r}")
        return f"{self.prefix}/{path}" if self.prefix else path

    def _object(self, key: str) -> Any:
        return self.backend.bucket.Object(key)

    def _pending(self) -> list[tuple[str, str]]:
        """(staging key, final key) of what this thread staged and has not committed."""
        if not hasattr(self._local, "pending"):
            self._local.pending = []
        pending: list[tuple[str, str]] = self._local.pending
        return pending

    # --- the interface -------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the bucket when it does not exist yet (every node may try at once)."""
        if self._bucket_ready:
            return
        client = self.backend.connection.meta.client
        try:
            try:
                client.head_bucket(Bucket=self.bucket_name)
            except ClientError as exc:
                if not _is_missing(exc) and "NoSuchBucket" not in str(exc):
                    raise
                try:
                    client.create_bucket(Bucket=self.bucket_name)
                except ClientError as create_error:
                    code = create_error.response.get("Error", {}).get("Code", "")
                    if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
                log.info("created bucket %s", self.bucket_name)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        self._bucket_ready = True

    def stage(self, path: str, source: Path | bytes) -> None:
        final = self.key(path)
        staging = self.key(f".staging/{uuid.uuid4().hex}")
        self.prepare()
        # The final path rides on the staged object, so ``repair`` can publish it later.
        extra = {"Metadata": {_TARGET: quote(path, safe="/")}}
        try:
            if isinstance(source, bytes):
                self._object(staging).upload_fileobj(io.BytesIO(source), ExtraArgs=extra)
            else:
                with source.open("rb") as handle:
                    self._object(staging).upload_fileobj(handle, ExtraArgs=extra)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        except OSError as exc:  # reading the local file
            raise storage_error(exc) from exc
        if isinstance(source, Path):
            source.unlink(missing_ok=True)
        self._pending().append((staging, final))

    def publish_on_commit(self) -> None:
        batch = list(self._pending())
        if batch:
            transaction.on_commit(lambda: self._publish_committed(batch))

    def _publish_committed(self, batch: list[tuple[str, str]]) -> None:
        """Runs after the commit: the staged objects now belong to committed rows, so they
        are never discarded; one that cannot be copied stays for ``repair``."""
        pending = self._pending()
        for item in batch:
            if item in pending:
                pending.remove(item)
        for staging, final in batch:
            try:
                self._publish(staging, final)
            except (BotoCoreError, ClientError) as exc:
                log.error(
                    "committed but not published: %s (kept as %s for repair): %s",
                    final,
                    staging,
                    exc,
                )
                self._unpublished().append(final)

    def _publish(self, staging: str, final: str) -> None:
        self._object(final).copy({"Bucket": self.bucket_name, "Key": staging})
        self._object(staging).delete()

    def _unpublished(self) -> list[str]:
        if not hasattr(self._local, "unpublished"):
            self._local.unpublished = []
        unpublished: list[str] = self._local.unpublished
        return unpublished

    def take_unpublished(self) -> list[str]:
        unpublished = self._unpublished()
        taken = list(unpublished)
        unpublished.clear()
        return taken

    def discard_staged(self) -> None:
        pending = self._pending()
        while pending:
            staging, _final = pending.pop()
            try:
                self._object(staging).delete()
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not remove staged object %s: %s", staging, exc)

    def repair(self, is_committed: Callable[[str], bool], staged_before: float) -> RepairReport:
        report = RepairReport()
        prefix = self.key(".staging") + "/"
        try:
            for summary in self.backend.bucket.objects.filter(Prefix=prefix):
                obj = self._object(summary.key)
                obj.load()
                path = unquote(obj.metadata.get(_TARGET, ""))
                if path and is_safe_path(path) and is_committed(path):
                    try:
                        self._publish(summary.key, self.key(path))
                    except (BotoCoreError, ClientError) as exc:
                        log.error("could not publish %s from %s: %s", path, summary.key, exc)
                        report.failed.append(path)
                    else:
                        report.published.append(path)
                elif summary.last_modified.timestamp() < staged_before:
                    obj.delete()
                    report.removed.append(summary.key)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        return report

    def _head(self, path: str) -> tuple[Any, int]:
        obj = self._object(self.key(path))
        try:
            obj.load()
        except ClientError as exc:
            if _is_missing(exc):
                raise FileNotFoundError(path) from None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return obj, int(obj.content_length)

    def open(self, path: str) -> BinaryIO:
        handle, _size = self.open_sized(path)
        return handle

    def open_sized(self, path: str) -> tuple[BinaryIO, int]:
        obj, size = self._head(path)
        reader = io.BufferedReader(_ObjectReader(obj, size), buffer_size=256 * 1024)
        return reader, size

    def size(self, path: str) -> int:
        return self._head(path)[1]

    def exists(self, path: str) -> bool:
        try:
            self._head(path)
        except (FileNotFoundError, ValueError):
            return False
        return True

    def delete(self, path: str) -> None:
        key = self.key(path)

        def remove() -> None:
            try:
                self._object(key).delete()
            except (BotoCoreError, ClientError) as exc:
                # The row is gone; an orphaned object is harmless and logged for cleanup.
                log.error("could not delete %s: %s", key, exc)

        transaction.on_commit(remove)

    def list_paths(self) -> Iterator[tuple[str, int]]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        staging = self.key(".staging") + "/"
        try:
            for summary in self.backend.bucket.objects.filter(Prefix=prefix):
                if not summary.key.startswith(staging):
                    yield summary.key.removeprefix(prefix), int(summary.size)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def url(self, path: str) -> str:
        if settings.DOWNLOADS == "cdn":
            return f"{settings.CDN_BASE_URL}/{self.key(path)}"
        return f"/{path}"

    def redirect_url(self, path: str) -> str | None:
        if settings.DOWNLOADS == "cdn":
            return self.url(path)
        if settings.DOWNLOADS == "presigned":
            try:
                return str(self.backend.url(self.key(path)))
            except (BotoCoreError, ClientError) as exc:
                raise _unavailable(exc) from exc
        return None
