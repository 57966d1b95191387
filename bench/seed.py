"""Fill a Strongroom data directory (and a flat folder for the peers) with the bench package set.

The shape is what the upload path produces (a Project, its Releases, their Files with
content-addressed paths, digests, a UsedFilename row per file, an Owner role and a bumped
serial), written with bulk inserts instead of one upload at a time.

    PYTHONPATH=src python bench/seed.py --data-dir /tmp/sr --projects 10000 --peer-files /tmp/f

Projects: ``smallproj`` (one release, a wheel and an sdist), ``bigproj`` (BIG_RELEASES
releases x 3 files), ``bigfile`` (one wheel of DOWNLOAD_MB MiB, for the download test), then
``proj000001``... with one sdist each until PROJECTS in all. Files are written to disk where
a test reads them (smallproj, bigfile) and, with --peer-files, every file (tiny) to a flat
folder that pypiserver serves and devpi is loaded from.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SMALL = "smallproj"
BIG = "bigproj"
DOWNLOAD = "bigfile"
OWNER = "benchowner"


@dataclass(frozen=True)
class Dist:
    project: str
    version: str
    filename: str
    packagetype: str
    python_version: str


def _wheel(project: str, version: str, tag: str = "py3-none-any") -> Dist:
    return Dist(project, version, f"{project}-{version}-{tag}.whl", "bdist_wheel", "py3")


def _sdist(project: str, version: str) -> Dist:
    return Dist(project, version, f"{project}-{version}.tar.gz", "sdist", "source")


def package_set(projects: int, big_releases: int, files_per_filler: int = 1) -> Iterator[Dist]:
    """Every file of the bench data set, grouped by project and release, in order."""
    yield _wheel(SMALL, "1.0")
    yield _sdist(SMALL, "1.0")
    for i in range(big_releases):
        version = f"{1 + i // 1000}.{i % 1000}.0"
        yield _wheel(BIG, version)
        yield _wheel(BIG, version, "cp311-cp311-manylinux_2_17_x86_64")
        yield _sdist(BIG, version)
    yield _wheel(DOWNLOAD, "1.0")
    for n in range(1, projects - 2):
        name = f"proj{n:06d}"
        for k in range(files_per_filler):
            yield _sdist(name, f"1.{k}") if k % 2 == 0 else _wheel(name, f"1.{k}")


def content_of(dist: Dist, download_mb: int) -> bytes:
    """Tiny, unique bytes per file; the download file is DOWNLOAD_MB MiB of random bytes."""
    if dist.project == DOWNLOAD:
        return random.Random(0).randbytes(download_mb * 1024 * 1024)
    return f"strongroom bench file {dist.filename}\n".encode()


def storage_path(sha256: str, filename: str) -> str:
    return f"packages/{sha256[:2]}/{sha256[2:4]}/{sha256}/{filename}"


def _setup_django(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["STRONGROOM_DATA_DIR"] = str(data_dir.resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _owner():  # type: ignore[no-untyped-def]
    from strongroom.accounts.models import User

    user = User.objects.filter(username=OWNER).first()
    if user is None:
        from strongroom.accounts.services import create_user

        user = create_user(
            username=OWNER,
            email="owner@bench.invalid",
            password="bench-owner-pw-7",  # noqa: S106 - a throwaway bench account
        )
    # Tokens need a verified primary address (bench/upload.py, bench/tokens.py).
    from django.utils import timezone

    user.emails.filter(primary=True).update(verified=True, verified_at=timezone.now())
    return user


def seed_strongroom(
    data_dir: Path,
    *,
    projects: int,
    big_releases: int,
    files_per_filler: int = 1,
    download_mb: int = 10,
    peer_files: Path | None = None,
    batch: int = 20_000,
) -> dict[str, int]:
    """Bulk-insert the package set; return counts. The database must not hold it yet."""
    _setup_django(data_dir)
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from strongroom.packages.filenames import filename_key
    from strongroom.packages.models import File, IndexSerial, Project, Release, Role, UsedFilename
    from strongroom.packages.names import confusable_skeleton

    owner = _owner()
    files_dir = Path(settings.FILES_DIR)
    if peer_files is not None:
        peer_files.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    counts = {"projects": 0, "releases": 0, "files": 0}
    serial = int(IndexSerial.objects.values_list("value", flat=True).first() or 0)

    def flush(group: list[Dist]) -> None:
        nonlocal serial
        by_project: dict[str, list[Dist]] = {}
        for dist in group:
            by_project.setdefault(dist.project, []).append(dist)
        project_rows = []
        for name in by_project:
            serial += 1
            project_rows.append(
                Project(
                    name=name,
                    normalized_name=name,
                    skeleton=confusable_skeleton(name),
                    last_serial=serial,
                    last_changed=now,
                )
            )
        Project.objects.bulk_create(project_rows)
        project_ids = dict(
            Project.objects.filter(normalized_name__in=list(by_project)).values_list(
                "normalized_name", "id"
            )
        )
        Role.objects.bulk_create(
            [Role(project_id=pid, user=owner, role_name="Owner") for pid in project_ids.values()]
        )
        release_rows = []
        seen: set[tuple[str, str]] = set()
        for dist in group:
            if (dist.project, dist.version) not in seen:
                seen.add((dist.project, dist.version))
                release_rows.append(
                    Release(
                        project_id=project_ids[dist.project],
                        version=dist.version,
                        canonical_version=dist.version,
                        metadata_version="2.1",
                        summary=f"{dist.project} for the benchmark",
                        requires_python=">=3.8",
                    )
                )
        Release.objects.bulk_create(release_rows, batch_size=5000)
        release_ids = {(r.project_id, r.version): r.pk for r in release_rows}
        file_rows = []
        for dist in group:
            content = content_of(dist, download_mb)
            sha256 = hashlib.sha256(content).hexdigest()
            path = storage_path(sha256, dist.filename)
            if dist.project in (SMALL, DOWNLOAD):
                target = files_dir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            if peer_files is not None:
                (peer_files / dist.filename).write_bytes(content)
            pid = project_ids[dist.project]
            file_rows.append(
                File(
                    release_id=release_ids[(pid, dist.version)],
                    project_id=pid,
                    filename=dist.filename,
                    packagetype=dist.packagetype,
                    python_version=dist.python_version,
                    requires_python=">=3.8",
                    size=len(content),
                    path=path,
                    sha256_digest=sha256,
                    blake2_256_digest=hashlib.blake2b(content, digest_size=32).hexdigest(),
                    md5_digest=hashlib.md5(content).hexdigest(),  # noqa: S324 - PyPI field
                    uploader=owner,
                )
            )
        File.objects.bulk_create(file_rows, batch_size=5000)
        UsedFilename.objects.bulk_create(
            [UsedFilename(filename=d.filename, key=filename_key(d.filename)) for d in group],
            batch_size=5000,
        )
        counts["projects"] += len(project_rows)
        counts["releases"] += len(release_rows)
        counts["files"] += len(file_rows)

    group: list[Dist] = []
    started = time.monotonic()
    for dist in package_set(projects, big_releases, files_per_filler):
        # Flush only between projects, so one project's rows go in together.
        if len(group) >= batch and group[-1].project != dist.project:
            with transaction.atomic():
                flush(group)
            group = []
            print(
                f"  {counts['files']:,} files, {counts['projects']:,} projects "
                f"({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        group.append(dist)
    with transaction.atomic():
        flush(group)
        IndexSerial.objects.update_or_create(pk=1, defaults={"value": serial, "changed": now})
    _after_seed()
    return counts


def _after_seed() -> None:
    """Work the upload path does at write time for each project (pre-rendered pages)."""
    try:
        from strongroom.index.prerender import rebuild_all
    except ImportError:
        return
    rebuild_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--big-releases", type=int, default=2_000)
    parser.add_argument("--files-per-filler", type=int, default=1)
    parser.add_argument("--download-mb", type=int, default=10)
    parser.add_argument("--peer-files", type=Path, default=None)
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = seed_strongroom(
        args.data_dir,
        projects=args.projects,
        big_releases=args.big_releases,
        files_per_filler=args.files_per_filler,
        download_mb=args.download_mb,
        peer_files=args.peer_files,
    )
    print(
        f"seeded {counts['projects']:,} projects, {counts['releases']:,} releases, "
        f"{counts['files']:,} files in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
