"""Does the read path (and upload) stay flat as the index grows?

Seeds a small index and a large one (default 100,000 projects and about 1,000,000 files:
each filler project gets --files-per-filler files), then on each measures
``/simple/smallproj/`` (wrk, 8 connections) and the time of a small twine-style upload
to a new project, and writes bench/results/scale.md.

    PYTHONPATH=src python bench/scale.py
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers

import upload

BENCH = Path(__file__).resolve().parent


def _seed(data_dir: Path, projects: int, per_filler: int) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "seed.py"),
            "--data-dir",
            str(data_dir),
            "--projects",
            str(projects),
            "--files-per-filler",
            str(per_filler),
            "--big-releases",
            "2000",
            "--download-mb",
            "1",
        ],
        check=True,
        env=peers.strongroom_env(),
    )
    return time.monotonic() - started


def _measure(data_dir: Path, work: Path, uploads: int, seconds: int) -> dict[str, float]:
    token = peers.create_token(data_dir, "benchowner", f"scale-{time.time()}")
    server = peers.start_strongroom(data_dir, work, server="granian")
    try:
        runs = [
            load.run_wrk(
                server.base + "/simple/smallproj/", connections=8, seconds=seconds, headers={}
            )
            for _ in range(3)
        ]
        runs.sort(key=lambda r: r.rps)
        timings = []
        for i in range(uploads):
            name = f"scaleup{int(time.time())}x{i}"
            wheel = work / f"{name}-1.0-py3-none-any.whl"
            upload.make_wheel(wheel, name, "1.0", 0)
            started = time.perf_counter()
            status = peers.legacy_upload(
                server.base + "/legacy/", "__token__", token, name, "1.0", wheel
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
    finally:
        server.stop()
    return {
        "rps": runs[1].rps,
        "p50_ms": runs[1].p50_ms,
        "p99_ms": runs[1].p99_ms,
        "upload_ms": statistics.median(timings),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-scale"
    )
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--files-per-filler", type=int, default=10)
    parser.add_argument("--small-projects", type=int, default=1_000)
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    sizes = {"small": (args.small_projects, 1), "large": (args.projects, args.files_per_filler)}
    out: dict[str, dict[str, float]] = {}
    for label, (projects, per_filler) in sizes.items():
        data_dir = args.work / label
        seconds = _seed(data_dir, projects, per_filler)
        import sqlite3

        with sqlite3.connect(data_dir / "strongroom.sqlite3") as db:
            files = db.execute("SELECT COUNT(*) FROM packages_file").fetchone()[0]
            count = db.execute("SELECT COUNT(*) FROM packages_project").fetchone()[0]
        out[label] = {"projects": count, "files": files, "seed_seconds": seconds}
        out[label] |= _measure(data_dir, args.work, args.uploads, args.seconds)
        print(label, out[label], flush=True)
    small, large = out["small"], out["large"]
    lines = [
        "# Scale: small index against large index",
        "",
        "| index | projects | files | seeded in s | /simple/smallproj/ req/s | p50 ms | "
        "p99 ms | upload ms (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, row in out.items():
        lines.append(
            f"| {label} | {row['projects']:,.0f} | {row['files']:,.0f} | "
            f"{row['seed_seconds']:.0f} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['upload_ms']:.0f} |"
        )
    lines += [
        "",
        f"Large/small: p50 latency {large['p50_ms'] / small['p50_ms']:.2f}x, "
        f"upload time {large['upload_ms'] / small['upload_ms']:.2f}x "
        "(goal: latency within 1.2x; upload flat): latency check "
        + ("passed." if large["p50_ms"] <= 1.2 * small["p50_ms"] else "NOT passed."),
    ]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "scale.md").write_text("\n".join(lines) + "\n")
    (args.results / "scale.json").write_text(json.dumps(out, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
