"""Archives that lie in their headers: every byte the reader holds is bounded, memory stays
flat whatever the archive announces, and a wheel must carry its own project's .dist-info."""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.packages.models import File, Project, UsedFilename
from strongroom.upload import archives
from strongroom.upload.errors import UploadError
from tests.distributions import make_wheel, metadata_text, post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = 160 * 1024 * 1024
CHUNK = b"a" * (1024 * 1024)


def _write_padded(out: gzip.GzipFile, size: int, prefix: bytes = b"", suffix: bytes = b"") -> None:
    """``size`` bytes (``prefix``, ``a``s, ``suffix``) padded to a tar block, in chunks."""
    out.write(prefix)
    left = size - len(prefix) - len(suffix)
    while left > 0:
        out.write(CHUNK[: min(left, len(CHUNK))])
        left -= len(CHUNK)
    out.write(suffix)
    out.write(b"\0" * (-size % tarfile.BLOCKSIZE))


def _special_header(kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo("././@LongLink")
    info.type = kind
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _pax_record(size: int) -> bytes:
    # "<length> path=<value>\n" where <length> counts the whole record, itself included.
    return f"{size} path=".encode()


def header_bomb(path: Path, kind: bytes) -> Path:
    """A small .tar.gz whose first member's header announces (and holds) 160 MiB."""
    with gzip.GzipFile(path, "wb", compresslevel=9) as out:
        if kind == tarfile.XHDTYPE:
            info = tarfile.TarInfo("PaxHeader")
            info.type = kind
            info.size = HUGE
            out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
            _write_padded(out, HUGE, _pax_record(HUGE), b"\n")
        else:
            out.write(_special_header(kind, HUGE))
            _write_padded(out, HUGE)
        member = tarfile.TarInfo("sample-1.0/PKG-INFO")
        data = metadata_text("sample", "1.0").encode()
        member.size = len(data)
        out.write(member.tobuf(format=tarfile.GNU_FORMAT))
        out.write(data + b"\0" * (-len(data) % tarfile.BLOCKSIZE))
        out.write(b"\0" * (2 * tarfile.BLOCKSIZE))
    return path


def _peak_while(action: Callable[[], object]) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = action()
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(
    "kind",
    [tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE],
    ids=["gnu-longname", "gnu-longlink", "pax"],
)
def test_tar_header_bomb_is_refused_in_flat_memory(client, user, tmp_path, kind):
    content = header_bomb(tmp_path / "bomb.tar.gz", kind).read_bytes()
    assert len(content) < 200 * 1024  # the review's 159 KiB
    # Warm up (imports, URL resolver, first-request caches) so the peak is the upload's own.
    assert post_upload(client, upload_form(name="warm-up")).status_code == 200
    form = upload_form(content, "sample-1.0.tar.gz", filetype="sdist")
    response, peak = _peak_while(lambda: post_upload(client, form))
    assert response.status_code == 400, response.reason_phrase  # type: ignore[attr-defined]
    assert "member header in the archive is too large" in response.reason_phrase  # type: ignore[attr-defined]
    # The whole upload request, body included, held a few MiB; the header claims 160 MiB.
    assert peak < 4 * 1024 * 1024, peak
    assert not Project.objects.filter(normalized_name="sample").exists()
    assert File.objects.count() == UsedFilename.objects.count() == 1


def test_many_ordinary_members_still_pass(tmp_path):
    # The header budget is per member: 3,000 members with long (but sane) PAX names pass.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for index in range(3000):
            info = tarfile.TarInfo(f"sample-1.0/{'d' * 300}/{index}/{'n' * 200}.py")
            archive.addfile(info, io.BytesIO(b""))
    path = tmp_path / "ok.tar.gz"
    path.write_bytes(buffer.getvalue())
    archives.inspect_tar_gz(path, archives.Limits(2**31, 50, 100_000))


def test_pax_global_headers_cannot_accumulate(tmp_path):
    # Each member's header is small, but global headers add up for the whole archive.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for index in range(40):
            archive.pax_headers = {f"comment{index}": "c" * 4000}
            archive.addfile(tarfile.TarInfo(f"sample-1.0/{index}.py"), io.BytesIO(b""))
            # tarfile writes global headers only once; write one by hand per member.
            info = tarfile.TarInfo("pax_global_header")
            archive.fileobj.write(  # type: ignore[union-attr]
                info.create_pax_global_header({f"comment{index}": "c" * 4000})
            )
    path = tmp_path / "globals.tar.gz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match="global PAX headers are too large"):
        archives.inspect_tar_gz(path, archives.Limits(2**31, 50, 100_000))


def test_sparse_members_are_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("sample-1.0/holes.bin")
        info.type = tarfile.GNUTYPE_SPARSE
        archive.addfile(info, io.BytesIO(b""))
    path = tmp_path / "sparse.tar.gz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match="Unsupported member type"):
        archives.inspect_tar_gz(path, archives.Limits(2**31, 50, 100_000))


def test_zip_with_more_entries_than_allowed_is_refused_before_parsing(tmp_path):
    # 120,000 empty entries: zipfile would build 120,000 ZipInfo objects (~100 MiB) before
    # the member count was checked; the end record is read first instead.
    path = tmp_path / "many.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(120_000):
            archive.writestr(zipfile.ZipInfo(f"{index:x}"), b"")
    limits = archives.Limits(2**31, 50, 100_000)
    message, peak = _peak_while(lambda: _refusal(lambda: archives.inspect_zip(path, limits)))
    assert "too many members" in str(message)
    assert peak < 4 * 1024 * 1024, peak


def _refusal(action: Callable[[], object]) -> str:
    try:
        action()
    except UploadError as exc:
        return exc.message
    raise AssertionError("accepted")


def test_zip_central_directory_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_CENTRAL_DIRECTORY", 4096)
    path = tmp_path / "big-cd.whl"
    path.write_bytes(make_wheel(members={f"sample/{'x' * 100}{i}.py": b"" for i in range(60)}))
    with pytest.raises(UploadError, match="central directory is too large"):
        archives.inspect_zip(path, archives.Limits(2**31, 50, 100_000))


@pytest.mark.parametrize(
    "dist_info",
    ["other-1.0.dist-info", "sample-2.0.dist-info", "sample.dist-info", "sample-x!.dist-info"],
)
def test_wheel_with_another_projects_dist_info_is_refused(client, user, dist_info):
    wheel = make_wheel(dist_info=dist_info)
    response = post_upload(client, upload_form(wheel))
    assert response.status_code == 400
    assert "directory does not match the filename" in response.reason_phrase
    assert File.objects.count() == 0


def test_wheel_with_a_second_dist_info_directory_is_refused(client, user):
    wheel = make_wheel(members={"other-1.0.dist-info/RECORD": b""})
    response = post_upload(client, upload_form(wheel))
    assert response.status_code == 400
    assert "exactly one .dist-info directory" in response.reason_phrase


@pytest.mark.parametrize("dist_info", ["Sample-1.0.dist-info", "sample-1.0.0.dist-info"])
def test_dist_info_spelled_differently_but_equal_is_accepted(client, user, dist_info):
    wheel = make_wheel(dist_info=dist_info)
    response = post_upload(client, upload_form(wheel))
    assert response.status_code == 200, response.reason_phrase
