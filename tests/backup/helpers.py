"""Reach into the configured storage behind the index's back (a folder or an S3 prefix)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from strongroom.storage import get_storage
from strongroom.storage.s3 import S3Storage


def put_raw(path: str, data: bytes) -> None:
    """Write an object directly, with no row and no staging (what an outsider could do)."""
    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.backend.bucket.put_object(Key=storage.key(path), Body=data)
        return
    full = Path(settings.FILES_DIR) / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_bytes(data)


def remove_raw(path: str) -> None:
    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.backend.bucket.Object(storage.key(path)).delete()
        return
    (Path(settings.FILES_DIR) / path).unlink()


def read_raw(path: str) -> bytes:
    with get_storage().open(path) as handle:
        return handle.read()
