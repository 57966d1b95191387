"""Archive sanity: readable, no unsafe member names, no decompression bombs.

Archives are read from disk in chunks; nothing is loaded whole except a wheel's METADATA.
"""

from __future__ import annotations

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


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UploadError(_("The file is not a valid zip archive.")) from None


def inspect_zip(path: Path, limits: Limits) -> list[str]:
    """Check every member of a zip and its CRCs; return the member names."""
    compressed = path.stat().st_size
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


def wheel_metadata(path: Path, limits: Limits) -> bytes:
    """Check a wheel and return its one ``.dist-info/METADATA``."""
    names = inspect_zip(path, limits)
    candidates = [name for name in names if _DIST_INFO_METADATA.match(name)]
    if len(candidates) != 1:
        raise UploadError(_("A wheel must contain exactly one .dist-info/METADATA file."))
    with _open_zip(path) as archive:
        info = archive.getinfo(candidates[0])
        if info.file_size > MAX_METADATA_SIZE:
            raise UploadError(_("The wheel's METADATA file is too large."))
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
            raise UploadError(_("The zip archive is damaged (a member fails its check).")) from None


def dist_info_name(metadata_member: str) -> str:
    return posixpath.dirname(metadata_member)


def inspect_tar_gz(path: Path, limits: Limits) -> None:
    """Stream through a .tar.gz checking names, link targets and expansion."""
    compressed = path.stat().st_size
    total = members = 0
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                members += 1
                total += max(member.size, 0)
                check_member_name(member.name)
                if member.issym() or member.islnk():
                    target = posixpath.normpath(
                        posixpath.join(posixpath.dirname(member.name), member.linkname)
                    )
                    check_member_name(member.linkname if member.islnk() else target)
                elif not (member.isfile() or member.isdir()):
                    raise UploadError(
                        _("Unsupported member type in archive: %(name)s")
                        % {"name": member.name[:200]}
                    )
                check_expansion(total, members, compressed, limits)
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
