"""Archive sanity: readable, no unsafe member names, no decompression bombs.

Archives are read from disk in chunks; nothing is loaded whole except a wheel's METADATA.
Every byte the readers materialise is bounded before it is read, whatever the archive's
headers claim: a tar member's headers (GNU long names, PAX records, sparse maps) may take
at most ``MAX_TAR_HEADER_BYTES``, a zip's central directory at most ``MAX_CENTRAL_DIRECTORY``.
"""

from __future__ import annotations

import gzip
import posixpath
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from strongroom.upload.errors import UploadError

MAX_METADATA_SIZE = 4 * 1024 * 1024
# All the header blocks of one tar member together (its own block, GNU long name and long
# link, PAX records). A real PAX header with a 4,096-byte path is under 10 KiB.
MAX_TAR_HEADER_BYTES = 64 * 1024
# A zip's central directory is read whole by zipfile: 100,000 members with 300-byte names.
MAX_CENTRAL_DIRECTORY = 32 * 1024 * 1024
_DIST_INFO_METADATA = re.compile(r"^[^/]+\.dist-info/METADATA$")


@dataclass(frozen=True)
class Limits:
    max_uncompressed: int
    max_ratio: int
    max_members: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            settings.ARCHIVE_MAX_UNCOMPRESSED,
            settings.ARCHIVE_MAX_RATIO,
            settings.ARCHIVE_MAX_MEMBERS,
        )


def check_member_name(name: str) -> None:
    """No absolute paths, no ``..`` segments, no backslashes or drive letters."""
    if (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or "\x00" in name
        or re.match(r"^[A-Za-z]:", name)
        or ".." in name.split("/")
    ):
        raise UploadError(_("Unsafe path in archive: %(name)s") % {"name": name[:200]})


def check_expansion(total: int, members: int, compressed: int, limits: Limits) -> None:
    if members > limits.max_members:
        raise UploadError(_("The archive has too many members."))
    if total > limits.max_uncompressed or total > max(compressed, 1024 * 1024) * limits.max_ratio:
        raise UploadError(_("The archive expands too much (possible decompression bomb)."))


def _check_central_directory(path: Path, limits: Limits) -> None:
    """Refuse a zip whose end record announces more than we will hold, before zipfile
    reads the central directory (whole) and builds an object per entry."""
    # zipfile's own end-record parser (zip64 included); it reads at most the last 64 KiB.
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:  # pragma: no cover - every CPython since 2.6 has it
        return
    try:
        with path.open("rb") as handle:
            record = end_record(handle)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        record = None
    if not record:
        raise UploadError(_("The file is not a valid zip archive.")) from None
    if record[zipfile._ECD_ENTRIES_TOTAL] > limits.max_members:  # type: ignore[attr-defined]
        raise UploadError(_("The archive has too many members."))
    if record[zipfile._ECD_SIZE] > MAX_CENTRAL_DIRECTORY:  # type: ignore[attr-defined]
        raise UploadError(_("The zip archive's central directory is too large."))


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UploadError(_("The file is not a valid zip archive.")) from None


def inspect_zip(path: Path, limits: Limits) -> list[str]:
    """Check every member of a zip and its CRCs; return the member names."""
    compressed = path.stat().st_size
    _check_central_directory(path, limits)
    with _open_zip(path) as archive:
        infos = archive.infolist()
        for info in infos:
            check_member_name(info.filename)
        check_expansion(sum(i.file_size for i in infos), len(infos), compressed, limits)
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError):
            bad = "?"
        if bad is not None:
            raise UploadError(_("The zip archive is damaged (a member fails its check)."))
        return [i.filename for i in infos]


def wheel_dist_info(names: list[str]) -> str:
    """The wheel's one top-level ``.dist-info`` directory, as pip finds it."""
    candidates = [name for name in names if _DIST_INFO_METADATA.match(name)]
    if len(candidates) != 1:
        raise UploadError(_("A wheel must contain exactly one .dist-info/METADATA file."))
    tops = {name.split("/", 1)[0] for name in names if "/" in name}
    if len([top for top in tops if top.endswith(".dist-info")]) != 1:
        raise UploadError(_("A wheel must contain exactly one .dist-info directory."))
    return dist_info_name(candidates[0])


def wheel_metadata(path: Path, limits: Limits) -> tuple[str, bytes]:
    """Check a wheel; return its ``.dist-info`` directory name and its ``METADATA``."""
    names = inspect_zip(path, limits)
    dist_info = wheel_dist_info(names)
    candidates = [f"{dist_info}/METADATA"]
    with _open_zip(path) as archive:
        info = archive.getinfo(candidates[0])
        if info.file_size > MAX_METADATA_SIZE:
            raise UploadError(_("The wheel's METADATA file is too large."))
        try:
            return dist_info, archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
            raise UploadError(_("The zip archive is damaged (a member fails its check).")) from None


def dist_info_name(metadata_member: str) -> str:
    return posixpath.dirname(metadata_member)


class _BoundedHeaders:
    """The decompressed tar stream as tarfile reads it, refusing oversized headers.

    tarfile reads a member's header blocks, GNU long names and PAX records with ``read()``
    (the whole announced size at once) and skips member data with ``seek()``. So every
    ``read`` counts against the current member's header budget, which the caller resets
    once tarfile has handed the member over; skipping data reads in small chunks.
    """

    def __init__(self, stream: gzip.GzipFile):
        self._stream = stream
        self.header_bytes = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or self.header_bytes + size > MAX_TAR_HEADER_BYTES:
            raise UploadError(
                _("A member header in the archive is too large (a long name or PAX record).")
            )
        self.header_bytes += size
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def _check_tar_member(member: tarfile.TarInfo) -> None:
    check_member_name(member.name)
    if member.issym() or member.islnk():
        target = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
        check_member_name(member.linkname if member.islnk() else target)
    elif member.issparse() or not (member.isfile() or member.isdir()):
        raise UploadError(
            _("Unsupported member type in archive: %(name)s") % {"name": member.name[:200]}
        )


def inspect_tar_gz(path: Path, limits: Limits) -> None:
    """Walk a .tar.gz checking names, link targets and expansion, in flat memory.

    The decompressed position (headers and data alike) counts against the expansion
    limits; member data is skipped, never held; members are not kept once checked.
    """
    compressed = path.stat().st_size
    total = members = 0
    try:
        with gzip.GzipFile(path, "rb") as stream:
            headers = _BoundedHeaders(stream)
            with tarfile.open(fileobj=headers, mode="r:") as archive:  # type: ignore[call-overload]
                member = archive.next()
                while member is not None:
                    members += 1
                    total = max(total + max(member.size, 0), headers.tell())
                    _check_tar_member(member)
                    check_expansion(total, members, compressed, limits)
                    # PAX global headers accumulate for the whole archive: bound them too.
                    kept = sum(len(k) + len(v) for k, v in archive.pax_headers.items())
                    if kept > MAX_TAR_HEADER_BYTES:
                        raise UploadError(_("The archive's global PAX headers are too large."))
                    archive.members.clear()
                    headers.header_bytes = 0
                    member = archive.next()
    except UploadError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError):
        raise UploadError(_("The file is not a valid .tar.gz archive.")) from None
    if members == 0:
        raise UploadError(_("The archive is empty."))


def inspect_sdist(path: Path, filename: str, limits: Limits) -> None:
    if filename.endswith(".zip"):
        inspect_zip(path, limits)
    else:
        inspect_tar_gz(path, limits)
