"""``strongroom verify-storage``: the database's file rows against the storage's objects.

It reports rows whose object is missing (or has another size, or with ``hashes`` another
digest) and objects that no row references. It works on any storage through its
interface, while servers run: objects are listed first, rows read after, and every
difference is looked at once more, so an upload or a removal finishing meanwhile is not
reported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from strongroom.packages.models import File
from strongroom.proxy.models import CachedFile
from strongroom.storage import get_storage


@dataclass
class StorageCheck:
    objects: int = 0
    rows: int = 0
    missing: list[str] = field(default_factory=list)  # a row's object is not in storage
    orphaned: list[str] = field(default_factory=list)  # an object no row references
    damaged: list[str] = field(default_factory=list)  # wrong size, or wrong digest

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphaned or self.damaged)


@dataclass(frozen=True)
class _Expected:
    size: int | None  # None: not recorded (a wheel's .metadata)
    sha256: str


def _expected() -> dict[str, _Expected]:
    expected = {}
    rows = File.objects.values_list("path", "size", "sha256_digest", "metadata_sha256")
    for path, size, sha256, metadata_sha256 in rows.iterator():
        expected[path] = _Expected(size, sha256)
        if metadata_sha256:
            expected[f"{path}.metadata"] = _Expected(None, metadata_sha256)
    # The upstream proxy's cache (proxy.models.CachedFile): verified when fetched.
    for cached in CachedFile.objects.filter(stored=True).iterator():
        expected[cached.storage_path] = _Expected(cached.size, cached.expected)
    return expected


def _digest(path: str) -> str:
    digest = hashlib.sha256()
    with get_storage().open(path) as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def verify_storage(*, hashes: bool = False) -> StorageCheck:
    storage = get_storage()
    listed = dict(storage.list_paths())
    expected = _expected()
    check = StorageCheck(objects=len(listed), rows=len(expected))
    for path, want in sorted(expected.items()):
        size = listed.get(path)
        if size is None:
            if not storage.exists(path):  # not published since the listing either
                check.missing.append(path)
            continue
        if want.size is not None and size != want.size:
            check.damaged.append(f"{path}: {size} bytes, its row says {want.size}")
        elif hashes and _digest(path) != want.sha256:
            check.damaged.append(f"{path}: its SHA-256 is not the one its row records")
    orphans = [path for path in listed if path not in expected]
    if orphans:
        still_rowless = set(orphans) - set(_expected())
        check.orphaned = sorted(p for p in still_rowless if storage.exists(p))
    return check
