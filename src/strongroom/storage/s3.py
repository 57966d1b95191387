"""Files in an S3-compatible bucket (``settings.S3_BUCKET`` under ``settings.S3_PREFIX``).

Writes keep the interface's promise: ``save`` uploads to a staging key inside the
transaction (so an unreachable store fails the upload before anything is committed),
and the commit copies it to its final key and deletes the staging object. A rolled-back
transaction deletes its staged objects, so nothing is left behind. Final keys are
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
from pathlib import Path
from typing import Any, BinaryIO

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from storages.backends.s3 import S3Storage as DjangoS3Storage

from strongroom.storage.base import Storage, StorageUnavailable, is_safe_path

log = logging.getLogger(__name__)

_MISSING = {"404", "NoSuchKey", "NotFound"}


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
        data = self._body.read(len(buffer))
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

    def _pending(self) -> list[str]:
        if not hasattr(self._local, "pending"):
            self._local.pending = []
        pending: list[str] = self._local.pending
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

    def save(self, path: str, source: Path | bytes) -> None:
        final = self.key(path)
        staging = self.key(f".staging/{uuid.uuid4().hex}")
        self.prepare()
        try:
            if isinstance(source, bytes):
                self._object(staging).upload_fileobj(io.BytesIO(source))
            else:
                with source.open("rb") as handle:
                    self._object(staging).upload_fileobj(handle)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        if isinstance(source, Path):
            source.unlink(missing_ok=True)
        self._pending().append(staging)

        def publish() -> None:
            try:
                self._object(final).copy({"Bucket": self.bucket_name, "Key": staging})
                self._object(staging).delete()
            except (BotoCoreError, ClientError) as exc:
                # Committed, but not published: the staging object is kept for repair.
                log.error("could not publish %s from %s: %s", final, staging, exc)
                raise _unavailable(exc) from exc
            if staging in self._pending():
                self._pending().remove(staging)

        transaction.on_commit(publish, robust=False)

    def discard_staged(self) -> None:
        pending = self._pending()
        while pending:
            staging = pending.pop()
            try:
                self._object(staging).delete()
            except (BotoCoreError, ClientError) as exc:
                log.warning("could not remove staged object %s: %s", staging, exc)

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
