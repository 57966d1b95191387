"""How long does ``/simple/`` (all projects) take to render and store at PyPI's size, and
what does a reader see while it runs?

Seeds a PostgreSQL index with N projects (COPY; no releases or files: the root lists
projects only), then, in this process, renders and stores the root both ways index.root
can (Python's renderer, the embedded database's; the database's ``string_agg``, what
PostgreSQL uses: index.root_sql), reporting wall time, the Python CPU time of the render
(this thread's) and the split between building the bodies, compressing them and storing
them. Then serves the index (``strongroom serve``, gunicorn, 2 workers), uploads a wheel
of a new project (a listing change: the worker renders the root after the commit, in
the background) and reads ``/simple/`` on new connections while that render runs,
reporting time to first byte. Writes bench/results/root-render.{json,md} and drops the
database.

    PYTHONPATH=src python bench/root_render.py --database postgresql://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers

import upload

BENCH = Path(__file__).resolve().parent
SECRET = "bench-root-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - bench only


def _env(url: str) -> dict[str, str]:
    return {"STRONGROOM_DATABASE_URL": url, "STRONGROOM_SECRET_KEY": SECRET}


def _recreate(server_url: str, name: str, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {name}")


def _setup(url: str, data_dir: Path) -> None:
    os.environ.update(_env(url))
    os.environ["STRONGROOM_DATA_DIR"] = str(data_dir.resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _seed(projects: int) -> float:
    """The owner (through the ORM), then ``projects`` public projects with COPY."""
    from django.db import connection, transaction
    from django.utils import timezone
    from seed import _owner
    from seed_copy import _columns, _copy

    from strongroom.packages.models import IndexSerial, Project
    from strongroom.packages.names import confusable_skeleton

    started = time.monotonic()
    _owner()
    with connection.cursor() as cursor:
        connection.ensure_connection()
        if hasattr(connection.connection, "reply_timeout"):
            connection.connection.reply_timeout = None  # a bulk load, not a request
        cursor.execute("SET statement_timeout = 0")
    now = timezone.now()
    columns, fixed = _columns(
        Project, Project(last_changed=now), {"id", "name", "normalized_name", "skeleton"}
    )

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(projects):
            # Display names differ from the normalised ones, as on PyPI.
            name = f"Root_Bench.{i:07d}"
            varying = {
                "id": i + 1,
                "name": name,
                "normalized_name": f"root-bench-{i:07d}",
                "skeleton": confusable_skeleton(name),
            }
            yield tuple(varying.get(c, fixed.get(c)) for c in columns)

    with transaction.atomic():
        _copy(Project._meta.db_table, columns, rows())
        IndexSerial.objects.update_or_create(pk=1, defaults={"value": projects, "changed": now})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('packages_project', 'id'), "
            "(SELECT MAX(id) FROM packages_project))"
        )
        cursor.execute("ANALYZE")
    return time.monotonic() - started


def _bump_serial() -> None:
    """A newer index serial, so each round's root is stored (store keeps the newest)."""
    from django.db.models import F

    from strongroom.packages.models import IndexSerial

    IndexSerial.objects.filter(pk=1).update(value=F("value") + 1)


def _render_once(bodies_of: Callable[[], Any]) -> dict[str, float]:
    from strongroom.index import root, root_pages

    _bump_serial()
    wall, cpu = time.perf_counter(), time.thread_time()
    bodies = bodies_of()
    built_wall, built_cpu = time.perf_counter(), time.thread_time()
    page = root_pages.page_of(bodies)
    coded_wall, coded_cpu = time.perf_counter(), time.thread_time()
    assert root.store(page)
    done_wall, done_cpu = time.perf_counter(), time.thread_time()
    return {
        "total_s": done_wall - wall,
        "cpu_s": done_cpu - cpu,
        "build_s": built_wall - wall,
        "build_cpu_s": built_cpu - cpu,
        "compress_s": coded_wall - built_wall,
        "compress_cpu_s": coded_cpu - built_cpu,
        "store_s": done_wall - coded_wall,
        "html_bytes": len(page.html),
        "json_bytes": len(page.json),
    }


def _renders(rounds: int) -> dict[str, dict[str, float]]:
    """Median of ``rounds`` renders and stores each way, alternating."""
    from strongroom.index import root_pages, root_sql

    ways = {"python": root_pages.render_bodies_in_python, "database": root_sql.render_bodies}
    runs: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    for round_ in range(rounds):
        for way, bodies_of in ways.items():
            runs[way].append(_render_once(bodies_of))
            print(f"  render {way} round {round_}: {runs[way][-1]}", file=sys.stderr, flush=True)
    return {
        way: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for way, found in runs.items()
    }


def _etag(url: str) -> str:
    request = urllib.request.Request(url, method="HEAD")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return str(response.headers["ETag"])


def _names(url: str) -> set[str]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return {project["name"] for project in json.loads(response.read())["projects"]}


def _reads_while_rendering(
    data_dir: Path, work: Path, url: str, uploads: int, window: float
) -> dict[str, Any]:
    """``/simple/`` first byte on new connections, polled from each upload of a new project
    (whose worker then renders the root in the background) for ``window`` seconds."""
    token = peers.create_token(data_dir, "benchowner", f"root-{time.time()}", **_env(url))
    port = peers.free_port()
    args = [sys.executable, "-m", "strongroom.cli", "serve", "--data-dir", str(data_dir)]
    args += ["--port", str(port), "--workers", "2", "--server", "gunicorn"]
    process = peers._popen(args, work / "strongroom.log", peers.strongroom_env(**_env(url)))
    base = f"http://127.0.0.1:{port}"
    server = peers.Server("strongroom", base, process)
    during: list[float] = []
    new_root_after: list[float] = []
    upload_ms: list[float] = []
    try:
        peers.wait_http(base + "/simple/", timeout=300, process=process)
        for _ in range(4):  # both workers hold the stored root in their memo
            load.first_byte_ms(base + "/simple/")
        before = statistics.median(load.first_byte_ms(base + "/simple/") for _ in range(10))
        for i in range(uploads):
            name, version = f"rootbenchnew{int(time.time())}x{i}", "1.0"
            wheel = work / f"{name}-{version}-py3-none-any.whl"
            upload.make_wheel(wheel, name, version, 0)
            etag = _etag(base + "/simple/")
            started = time.perf_counter()
            status = peers.legacy_upload(
                base + "/legacy/", "__token__", token, name, version, wheel
            )
            uploaded = time.perf_counter()
            upload_ms.append((uploaded - started) * 1000)
            assert status == 200, status
            seen_new: float | None = None
            while time.perf_counter() - uploaded < window:
                during.append(load.first_byte_ms(base + "/simple/"))
                now = _etag(base + "/simple/")
                if seen_new is None and now != etag:
                    etag = now  # a new root: is it the one with this upload's project?
                    if name in _names(base + "/simple/"):
                        seen_new = time.perf_counter() - uploaded
                time.sleep(0.05)
            new_root_after.append(seen_new if seen_new is not None else float("nan"))
            wheel.unlink()
    finally:
        server.stop()
    return {
        "first_byte_idle_ms": before,
        "first_byte_during_render_ms": {
            "median": statistics.median(during),
            "p90": statistics.quantiles(during, n=10)[-1],
            "max": max(during),
            "count": len(during),
        },
        "new_root_seen_after_s": new_root_after,
        "upload_ms": upload_ms,
    }


def _loadavg() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def _markdown(out: dict[str, Any]) -> str:
    py, db = out["render"]["python"], out["render"]["database"]
    reads = out["reads"]
    during = reads["first_byte_during_render_ms"]
    lines = [
        "# `/simple/` rendered at write time: Python against PostgreSQL's `string_agg`",
        "",
        f"`bench/root_render.py`, {out['projects']:,} projects on PostgreSQL (COPY, "
        f"{out['seed_s']:.0f} s; no files: the root lists projects only). Root: "
        f"{py['html_bytes'] / 1e6:.1f} MB of HTML, {py['json_bytes'] / 1e6:.1f} MB of JSON "
        "(the same bytes both ways). The machine was loaded by other work (a CI run and "
        f"two other sessions; load average {out['loadavg']['before']} before, "
        f"{out['loadavg']['after']} after): compare the two ways, measured alternately in "
        "one run, rather than the absolute figures.",
        "",
        f"Render and store, median of {out['rounds']} rounds each, seconds (CPU: this "
        "Python thread's):",
        "",
        "| way | total | Python CPU | build bodies | of which CPU | compress (gzip, zstd) "
        "| store |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for way, row in (("Python (`render_bodies_in_python`)", py), ("database", db)):
        lines.append(
            f"| {way} | {row['total_s']:.2f} | {row['cpu_s']:.2f} | {row['build_s']:.2f} "
            f"| {row['build_cpu_s']:.2f} | {row['compress_s']:.2f} | {row['store_s']:.2f} |"
        )
    lines += [
        "",
        f"`/simple/` time to first byte, new connections, `strongroom serve` (gunicorn, 2 "
        f"workers): {reads['first_byte_idle_ms']:.1f} ms idle (median of 10); polled for "
        f"{out['window_s']:.0f} s after each of {len(reads['upload_ms'])} uploads of a new "
        "project (each a listing change, rendered by its worker in the background): "
        f"median {during['median']:.1f} ms, p90 {during['p90']:.1f} ms, max "
        f"{during['max']:.1f} ms over {during['count']} reads. The root listing the "
        "uploaded project was served after "
        + ", ".join(f"{s:.1f}" for s in reads["new_root_seen_after_s"])
        + " s (nan: not within the window); uploads took "
        + ", ".join(f"{ms:.0f}" for ms in reads["upload_ms"])
        + " ms.",
        "",
        "Before (bench/results/scale.md, the Python render in the committing process and "
        "readers fetching the new body in their request): render and store 14.0 s, "
        "`/simple/` first byte after an upload 1,787 ms median.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=600_000)
    parser.add_argument(
        "--database",
        default="postgresql://postgres@127.0.0.1:5432",
        help="the PostgreSQL server (no database name)",
    )
    parser.add_argument("--db", default="root2_rootbench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--window", type=float, default=30.0, help="seconds polled per upload")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-root-render"
    )
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    url = f"{args.database}/{args.db}"
    out: dict[str, Any] = {"projects": args.projects, "rounds": args.rounds}
    out["loadavg"] = {"before": _loadavg()}
    _recreate(args.database, args.db)
    try:
        data_dir = args.work / "data"
        _setup(url, data_dir)
        out["seed_s"] = _seed(args.projects)
        print(f"seeded {args.projects:,} projects in {out['seed_s']:.0f} s", file=sys.stderr)
        out["render"] = _renders(args.rounds)
        from django.db import connection

        connection.close()  # the server gets the database to itself
        out["window_s"] = args.window
        out["reads"] = _reads_while_rendering(data_dir, args.work, url, args.uploads, args.window)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _recreate(args.database, args.db, drop_only=True)
    out["loadavg"]["after"] = _loadavg()
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "root-render.json").write_text(json.dumps(out, indent=2) + "\n")
    (args.results / "root-render.md").write_text(_markdown(out))
    print(_markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
