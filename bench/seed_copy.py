"""Add filler projects to a PostgreSQL index with COPY, at PyPI's size (bench/scale.py).

Run after bench/seed.py (which makes the owner, smallproj, bigproj and bigfile through the
ORM and pre-renders their pages); stores ``/simple/`` (index.root) last. Each filler
project gets an Owner role, releases of three files (two wheels and an sdist) and a
UsedFilename row per file, the rows the upload path writes, with every column's value
taken from the model (defaults, auto_now_add) so the rows are what an upload would
store. Filler pages are not pre-rendered (the read path renders a page whose stored copy
is missing); none of them is measured.

    STRONGROOM_DATABASE_URL=postgresql://... PYTHONPATH=src \
        python bench/seed_copy.py --projects 600000 --files 7000000 --data-dir /tmp/sr
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed import storage_path

FILES_PER_RELEASE = 3


def _setup(data_dir: Path) -> None:
    os.environ["STRONGROOM_DATA_DIR"] = str(data_dir.resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()


def _columns(model: Any, template: Any, varying: set[str]) -> tuple[list[str], dict[str, Any]]:
    """The model's columns, and the database value of every column not in ``varying``,
    as the ORM would save ``template``."""
    from django.db import connection

    names: list[str] = []
    fixed: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key and field.attname not in varying:
            continue
        names.append(field.column)
        if field.attname not in varying:
            fixed[field.column] = field.get_db_prep_save(
                field.pre_save(template, add=True), connection
            )
    return names, fixed


def _copy(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    from django.db import connection

    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _next_id(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _reset_sequence(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT MAX(id) FROM {table}))"
        )


def seed(projects: int, files: int, log: Any = sys.stderr) -> dict[str, float]:
    """Add filler projects until the index holds ``projects`` projects and ``files`` files."""
    from django.db import connection, transaction
    from django.utils import timezone

    from strongroom.packages.filenames import filename_key
    from strongroom.packages.models import (
        File,
        IndexSerial,
        Project,
        Release,
        Role,
        UsedFilename,
    )
    from strongroom.packages.names import confusable_skeleton

    with connection.cursor() as cursor:
        # The server's statement timeout and the client's reply deadline (settings,
        # db.postgresql) are for requests, not for a bulk load: the final COPY, its commit
        # or ANALYZE can each take longer than the 15 s deadline at 7,000,000 files.
        connection.ensure_connection()
        if hasattr(connection.connection, "reply_timeout"):
            connection.connection.reply_timeout = None
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("SET maintenance_work_mem = '256MB'")
    owner_id = Role.objects.values_list("user_id", flat=True).first()
    have_projects = Project.objects.count()
    have_files = File.objects.count()
    fillers = projects - have_projects
    filler_files = files - have_files
    if fillers <= 0 or filler_files < fillers:
        raise SystemExit(f"nothing to add: {have_projects} projects, {have_files} files")
    base, extra = divmod(filler_files, fillers)  # the first `extra` fillers get one more
    now = timezone.now()
    serial = int(IndexSerial.objects.values_list("value", flat=True).first() or 0)
    timings: dict[str, float] = {}

    def names() -> Iterator[tuple[int, str, int]]:
        for i in range(fillers):
            yield i, f"filler{i:07d}", base + (1 if i < extra else 0)

    first_project = _next_id(Project._meta.db_table)
    first_release = _next_id(Release._meta.db_table)

    with transaction.atomic():
        started = time.monotonic()
        p_cols, p_fixed = _columns(
            Project,
            Project(last_changed=now),
            {"id", "name", "normalized_name", "skeleton", "last_serial"},
        )

        def project_rows() -> Iterator[tuple[Any, ...]]:
            for i, name, _count in names():
                varying = {
                    "id": first_project + i,
                    "name": name,
                    "normalized_name": name,
                    "skeleton": confusable_skeleton(name),
                    "last_serial": serial + 1 + i,
                }
                yield tuple(varying.get(c, p_fixed.get(c)) for c in p_cols)

        _copy(Project._meta.db_table, p_cols, project_rows())
        r_cols, r_fixed = _columns(Role, Role(user_id=owner_id, role_name="Owner"), {"project_id"})
        _copy(
            Role._meta.db_table,
            r_cols,
            (
                tuple({"project_id": first_project + i}.get(c, r_fixed.get(c)) for c in r_cols)
                for i in range(fillers)
            ),
        )
        timings["projects_s"] = time.monotonic() - started
        print(f"  {fillers:,} projects and roles ({timings['projects_s']:.0f} s)", file=log)

        started = time.monotonic()
        rel_cols, rel_fixed = _columns(
            Release,
            Release(
                metadata_version="2.1",
                summary="a filler project for the scale benchmark",
                requires_python=">=3.8",
            ),
            {"id", "project_id", "version", "canonical_version"},
        )

        def releases() -> Iterator[tuple[int, int, str, int]]:
            """(release id, project id, version, files in it)."""
            rid = first_release
            for i, _name, count in names():
                for r in range(-(-count // FILES_PER_RELEASE)):
                    in_release = min(FILES_PER_RELEASE, count - r * FILES_PER_RELEASE)
                    yield rid, first_project + i, f"{r + 1}.0", in_release
                    rid += 1

        def release_rows() -> Iterator[tuple[Any, ...]]:
            for rid, pid, version, _n in releases():
                varying = {
                    "id": rid,
                    "project_id": pid,
                    "version": version,
                    "canonical_version": version,
                }
                yield tuple(varying.get(c, rel_fixed.get(c)) for c in rel_cols)

        release_count = _copy(Release._meta.db_table, rel_cols, release_rows())
        timings["releases_s"] = time.monotonic() - started
        print(f"  {release_count:,} releases ({timings['releases_s']:.0f} s)", file=log)

        started = time.monotonic()
        f_cols, f_fixed = _columns(
            File,
            File(requires_python=">=3.8", size=1024, uploader_id=owner_id),
            {
                "release_id",
                "project_id",
                "filename",
                "packagetype",
                "python_version",
                "path",
                "sha256_digest",
                "blake2_256_digest",
                "md5_digest",
            },
        )
        u_cols, u_fixed = _columns(UsedFilename, UsedFilename(), {"filename", "key"})
        kinds = (
            ("py3-none-any.whl", "bdist_wheel", "py3"),
            ("cp311-cp311-manylinux_2_17_x86_64.whl", "bdist_wheel", "cp311"),
            ("tar.gz", "sdist", "source"),
        )
        used: list[str] = []

        def file_rows() -> Iterator[tuple[Any, ...]]:
            number = 0
            for rid, pid, version, count in releases():
                name = f"filler{pid - first_project:07d}"
                for k in range(count):
                    suffix, packagetype, python_version = kinds[k]
                    sep = "." if packagetype == "sdist" else "-"
                    filename = f"{name}-{version}{sep}{suffix}"
                    seed_bytes = f"{filename}:{number}".encode()
                    number += 1
                    sha256 = hashlib.sha256(seed_bytes).hexdigest()
                    varying = {
                        "release_id": rid,
                        "project_id": pid,
                        "filename": filename,
                        "packagetype": packagetype,
                        "python_version": python_version,
                        "path": storage_path(sha256, filename),
                        "sha256_digest": sha256,
                        "blake2_256_digest": hashlib.blake2b(
                            seed_bytes, digest_size=32
                        ).hexdigest(),
                        "md5_digest": hashlib.md5(seed_bytes).hexdigest(),  # noqa: S324
                    }
                    used.append(filename)
                    yield tuple(varying.get(c, f_fixed.get(c)) for c in f_cols)

        file_count = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor
            f_sql = f"COPY {File._meta.db_table} ({', '.join(f_cols)}) FROM STDIN"
            u_sql = f"COPY {UsedFilename._meta.db_table} ({', '.join(u_cols)}) FROM STDIN"
            rows = file_rows()
            done = False
            while not done:
                # Files and their UsedFilename rows in chunks (one COPY each per chunk).
                with raw.copy(f_sql) as copy:
                    for _ in range(500_000):
                        row = next(rows, None)
                        if row is None:
                            done = True
                            break
                        copy.write_row(row)
                        file_count += 1
                with raw.copy(u_sql) as copy:
                    for filename in used:
                        varying = {"filename": filename, "key": filename_key(filename)}
                        copy.write_row(tuple(varying.get(c, u_fixed.get(c)) for c in u_cols))
                used.clear()
                print(
                    f"  {file_count:,} files ({time.monotonic() - started:.0f} s)",
                    file=log,
                    flush=True,
                )
        timings["files_s"] = time.monotonic() - started
        for model in (Project, Release, File, UsedFilename, Role):
            _reset_sequence(model._meta.db_table)
        IndexSerial.objects.update_or_create(
            pk=1, defaults={"value": serial + fillers, "changed": now}
        )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["analyze_s"] = time.monotonic() - started
    return timings


def store_root() -> float:
    """Migrate, then render and store ``/simple/`` (index.root) as the upload path does
    after a change to the listing; the seconds the render and store took."""
    from django.core.management import call_command
    from django.db import connection

    from strongroom.index import root

    call_command("migrate", interactive=False, verbosity=0)
    connection.ensure_connection()
    if hasattr(connection.connection, "reply_timeout"):
        connection.connection.reply_timeout = None  # a bulk step, not a request
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    started = time.monotonic()
    page = root.render_and_store()
    elapsed = time.monotonic() - started
    print(
        f"stored /simple/ at serial {page.serial}: {len(page.html):,} bytes of HTML, "
        f"{len(page.json):,} of JSON, in {elapsed:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--projects", type=int, default=600_000)
    parser.add_argument("--files", type=int, default=7_000_000)
    parser.add_argument(
        "--root-only", action="store_true", help="only migrate and store /simple/ (index.root)"
    )
    args = parser.parse_args(argv)
    _setup(args.data_dir)
    started = time.monotonic()
    if args.root_only:
        print(json.dumps({"root_s": store_root()}))
        return 0
    timings = seed(args.projects, args.files)
    timings["root_s"] = store_root()
    print(f"copied in {time.monotonic() - started:.1f} s: {timings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
