"""Does the read path (and upload) stay flat as the index grows, at PyPI's size?

Seeds two PostgreSQL indexes: a small one (1,000 projects, through the ORM: bench/seed.py)
and a large one (600,000 projects and 7,000,000 files: bench/seed.py, then COPY for the
fillers: bench/seed_copy.py), then serves both at once and measures, in alternating
rounds, ``/simple/smallproj/`` (wrk, 8 connections), the time of a small twine-style
upload to a new project, and ``/simple/`` (all projects) time to first byte, cold, warm
and right after an upload. Writes bench/results/scale.md and scale.json.

    PYTHONPATH=src python bench/scale.py --database postgresql://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers

import upload

BENCH = Path(__file__).resolve().parent
WARMUP = 6


SECRET = "bench-scale-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - bench only


def _db_env(url: str) -> dict[str, str]:
    return {"STRONGROOM_DATABASE_URL": url, "STRONGROOM_SECRET_KEY": SECRET}


def _recreate(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def _counts(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        projects = conn.execute("SELECT COUNT(*) FROM packages_project").fetchone()
        files = conn.execute("SELECT COUNT(*) FROM packages_file").fetchone()
    assert projects is not None and files is not None
    return int(projects[0]), int(files[0])


def _seed(data_dir: Path, projects: int, files: int, url: str) -> dict[str, float]:
    """ORM seed of the measured projects and 1,000 in all, then COPY up to the size."""
    started = time.monotonic()
    small = min(projects, 1_000)
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "seed.py"),
            "--data-dir",
            str(data_dir),
            "--projects",
            str(small),
            "--big-releases",
            "2000",
            "--download-mb",
            "1",
        ],
        check=True,
        env=peers.strongroom_env(**_db_env(url)),
    )
    out = {"orm_s": time.monotonic() - started, "copy_s": 0.0}
    if projects > small:
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                str(BENCH / "seed_copy.py"),
                "--data-dir",
                str(data_dir),
                "--projects",
                str(projects),
                "--files",
                str(files),
            ],
            check=True,
            env=peers.strongroom_env(**_db_env(url)),
        )
        out["copy_s"] = time.monotonic() - started
    return out


def _store_root(data_dir: Path, url: str) -> float:
    done = subprocess.run(
        [sys.executable, str(BENCH / "seed_copy.py"), "--data-dir", str(data_dir), "--root-only"],
        check=True,
        env=peers.strongroom_env(**_db_env(url)),
        capture_output=True,
        text=True,
    )
    sys.stderr.write(done.stderr)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["root_s"])


# --existing: every upload is a new release of one project (created by the first,
# untimed, upload), so none changes what /simple/ lists.
EXISTING = {"on": False, "run": int(time.time()), "count": 0}


def _upload_once(server: peers.Server, token: str, work: Path, tag: str) -> float:
    stamp = int(time.time())
    name, version = f"scaleup{stamp}{tag}", "1.0"
    if EXISTING["on"]:
        EXISTING["count"] += 1
        name, version = "scaleupexisting", f"{EXISTING['run']}.{EXISTING['count']}"
    wheel = work / f"{name}-{version}-py3-none-any.whl"
    upload.make_wheel(wheel, name, version, 0)
    started = time.perf_counter()
    status = peers.legacy_upload(server.base + "/legacy/", "__token__", token, name, version, wheel)
    elapsed = (time.perf_counter() - started) * 1000
    wheel.unlink()
    assert status == 200, status
    return elapsed


def _measure(
    data_dirs: dict[str, Path],
    urls: dict[str, str],
    work: Path,
    uploads: int,
    seconds: int,
    rounds: int,
    kind: str,
) -> dict[str, dict[str, float]]:
    """Both indexes served at once and measured in alternation, round by round, so that
    whatever else the machine does weighs on both alike."""
    tokens = {
        label: peers.create_token(
            data_dir, "benchowner", f"scale-{time.time()}", **_db_env(urls[label])
        )
        for label, data_dir in data_dirs.items()
    }
    servers: dict[str, peers.Server] = {}
    index: dict[str, dict[str, float]] = {label: {} for label in data_dirs}
    after_upload: dict[str, list[float]] = {label: [] for label in data_dirs}
    try:
        for label, data_dir in data_dirs.items():
            servers[label] = peers.start_strongroom(
                data_dir, work, server=kind, **_db_env(urls[label])
            )
        for label, server in servers.items():
            cold, warm = load.first_byte(server.base + "/simple/")
            index[label] = {"index_cold_ms": cold, "index_warm_ms": warm}
        runs: dict[str, list[load.Result]] = {label: [] for label in data_dirs}
        timings: dict[str, list[float]] = {label: [] for label in data_dirs}
        # The first upload a worker takes imports and warms what it needs (~100-250 ms,
        # on any index): WARMUP uploads go first, spread over the workers, untimed.
        for label, server in servers.items():
            for i in range(WARMUP):
                _upload_once(server, tokens[label], work, f"w{i}")
        for round_ in range(rounds):
            for label, server in servers.items():
                runs[label].append(
                    load.run_wrk(
                        server.base + "/simple/smallproj/",
                        connections=8,
                        seconds=seconds,
                        headers={},
                    )
                )
                for i in range(uploads // rounds):
                    tag = f"r{round_}x{i}"
                    timings[label].append(_upload_once(server, tokens[label], work, tag))
                # The index changed: the next /simple/ is the first at the new serial.
                after_upload[label].append(load.first_byte_ms(server.base + "/simple/"))
    finally:
        for server in servers.values():
            server.stop()
    out = {}
    for label in data_dirs:
        out[label] = {
            "rps": statistics.median(r.rps for r in runs[label]),
            "p50_ms": statistics.median(r.p50_ms for r in runs[label]),
            "p99_ms": statistics.median(r.p99_ms for r in runs[label]),
            "upload_ms": statistics.median(timings[label]),
            "upload_p90_ms": statistics.quantiles(timings[label], n=10)[-1],
            **index[label],
            "index_after_upload_ms": statistics.median(after_upload[label]),
            "index_after_upload_max_ms": max(after_upload[label]),
        }
    return out


def _seeded(seconds: float | None) -> str:
    return "earlier run" if seconds is None else f"{seconds:.0f}"


def _loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-scale"
    )
    parser.add_argument("--projects", type=int, default=600_000)
    parser.add_argument("--files", type=int, default=7_000_000)
    parser.add_argument("--small-projects", type=int, default=1_000)
    parser.add_argument(
        "--database",
        default="postgresql://postgres@127.0.0.1:5432",
        help="the PostgreSQL server (no database name)",
    )
    parser.add_argument("--large-db", default="sr_perf2_scale")
    parser.add_argument("--small-db", default="sr_perf2_scale_small")
    parser.add_argument("--uploads", type=int, default=30, help="timed uploads per index")
    parser.add_argument("--rounds", type=int, default=5, help="alternations between indexes")
    parser.add_argument("--server", default="gunicorn", help="strongroom serve --server")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the indexes a previous run seeded"
    )
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed both indexes, record the seeding times in WORK/seeded.json and stop "
        "(measure them later with --reuse)",
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        help="upload new releases of one project instead of new projects",
    )
    args = parser.parse_args(argv)
    EXISTING["on"] = args.existing
    if not args.reuse:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = {
        "small": (args.small_projects, args.small_projects * 7, args.small_db),
        "large": (args.projects, args.files, args.large_db),
    }
    out: dict[str, dict[str, Any]] = {}
    data_dirs: dict[str, Path] = {}
    urls: dict[str, str] = {}
    loadavg = {"before": _loadavg()}
    for label, (projects, files, db) in sizes.items():
        data_dir = args.work / label
        url = f"{args.database}/{db}"
        seeded: dict[str, float] | None = None
        if not args.reuse:
            _recreate(args.database, db)
            seeded = _seed(data_dir, projects, files, url)
        count, file_count = _counts(url)
        out[label] = {
            "projects": count,
            "files": file_count,
            "seed_seconds": None if seeded is None else sum(seeded.values()),
            "seed": seeded,
        }
        print(label, out[label], flush=True)
        data_dirs[label] = data_dir
        urls[label] = url
    loadavg["after_seed"] = _loadavg()
    for label in sizes:
        # /simple/ stored at write time (index.root): a seeding run stores it; an index
        # seeded before the root was stored gets it here, timed (a no-op check otherwise).
        out[label]["root_render_s"] = _store_root(data_dirs[label], urls[label])
    seeded_record = args.work / "seeded.json"
    if args.seed_only:
        seeded_record.write_text(json.dumps({"loadavg": loadavg, **out}, indent=2) + "\n")
        return 0
    if args.reuse and seeded_record.exists():
        # The seeding times of the run that seeded these indexes (--seed-only).
        earlier = json.loads(seeded_record.read_text())
        loadavg["seed_before"] = earlier["loadavg"]["before"]
        for label in out:
            out[label]["seed_seconds"] = earlier[label]["seed_seconds"]
            out[label]["seed"] = earlier[label]["seed"]
    measured = _measure(
        data_dirs, urls, args.work, args.uploads, args.seconds, args.rounds, args.server
    )
    loadavg["after"] = _loadavg()
    for label, row in measured.items():
        out[label] |= row
        print(label, out[label], flush=True)
    small, large = out["small"], out["large"]
    lines = [
        "# Scale: small index against large index, on PostgreSQL",
        "",
        f"`strongroom serve --server {args.server}` (2 workers), both indexes on the same "
        f"PostgreSQL server, served at once and measured in {args.rounds} alternating "
        f"rounds: /simple/smallproj/ loaded by wrk at 8 connections ({args.seconds} s a "
        f"round, median of the rounds), {args.uploads} uploads of a small wheel to "
        + ("new releases of one project" if args.existing else "new projects")
        + f" in all, one at a time, after {WARMUP} untimed ones per index, and "
        "`/simple/` time to first byte (new connection). The large index's fillers were "
        "written with COPY (bench/seed_copy.py). Load average "
        f"{loadavg['before']} before, {loadavg['after']} after (2 CPUs, shared by both "
        "servers, PostgreSQL and the load): compare the two indexes, measured side by "
        "side, not the absolute figures.",
        "",
        "| index | projects | files | seeded in s | /simple/smallproj/ req/s | p50 ms | "
        "p99 ms | upload ms (median) | upload ms (p90) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in out.items():
        lines.append(
            f"| {label} | {row['projects']:,.0f} | {row['files']:,.0f} | "
            f"{_seeded(row['seed_seconds'])} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['upload_ms']:.0f} | {row['upload_p90_ms']:.0f} |"
        )
    lines += [
        "",
        "`/simple/` (all projects), time to first byte, ms:",
        "",
        "| index | first request | then (median of 5) | after an upload (median) | "
        "after an upload (max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, row in out.items():
        lines.append(
            f"| {label} | {row['index_cold_ms']:.0f} | {row['index_warm_ms']:.1f} | "
            f"{row['index_after_upload_ms']:.0f} | {row['index_after_upload_max_ms']:.0f} |"
        )
    if large.get("seed"):
        seed = large["seed"]
        lines += [
            "",
            f"Seeding the large index: {seed['orm_s']:.0f} s through the ORM (the measured "
            f"projects), {seed['copy_s']:.0f} s of COPY for the rest.",
        ]
    lines += [
        "",
        "`/simple/` is served from the root stored at write time (index.root): rendering "
        f"and storing it took {large['root_render_s']:.1f} s on the large index "
        f"({small['root_render_s']:.2f} s on the small one). "
        + (
            "Every timed upload was a new release of one existing project: none changed "
            "the listing, none rendered the root."
            if args.existing
            else "Each timed upload made a new project, so each changed the listing and "
            "asked its worker for a render after the commit, in the background: the reads "
            "above got the stored root meanwhile."
        ),
    ]
    index_ok = large["index_after_upload_max_ms"] <= 500
    lines += [
        "",
        f"Large/small: p50 latency {large['p50_ms'] / small['p50_ms']:.2f}x, "
        f"upload time {large['upload_ms'] / small['upload_ms']:.2f}x "
        "(goal: latency within 1.2x; upload flat): latency check "
        + ("passed." if large["p50_ms"] <= 1.2 * small["p50_ms"] else "NOT passed.")
        + " `/simple/` first byte after an upload within 500 ms: "
        + ("passed." if index_ok else "NOT passed."),
    ]
    args.results.mkdir(parents=True, exist_ok=True)
    stem = "scale-existing" if args.existing else "scale"
    (args.results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (args.results / f"{stem}.json").write_text(
        json.dumps({"loadavg": loadavg, **out}, indent=2) + "\n"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
