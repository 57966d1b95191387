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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers

import upload

BENCH = Path(__file__).resolve().parent
WARMUP = 6


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


def _upload_once(server: peers.Server, token: str, work: Path, tag: str) -> float:
    name = f"scaleup{int(time.time())}{tag}"
    wheel = work / f"{name}-1.0-py3-none-any.whl"
    upload.make_wheel(wheel, name, "1.0", 0)
    started = time.perf_counter()
    status = peers.legacy_upload(server.base + "/legacy/", "__token__", token, name, "1.0", wheel)
    elapsed = (time.perf_counter() - started) * 1000
    wheel.unlink()
    assert status == 200, status
    return elapsed


def _measure(
    data_dirs: dict[str, Path], work: Path, uploads: int, seconds: int, rounds: int, kind: str
) -> dict[str, dict[str, float]]:
    """Both indexes served at once and measured in alternation, round by round, so that
    whatever else the machine does weighs on both alike."""
    tokens = {
        label: peers.create_token(data_dir, "benchowner", f"scale-{time.time()}")
        for label, data_dir in data_dirs.items()
    }
    servers: dict[str, peers.Server] = {}
    try:
        for label, data_dir in data_dirs.items():
            servers[label] = peers.start_strongroom(data_dir, work, server=kind)
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
        }
    return out


def _seeded(seconds: float | None) -> str:
    return "earlier run" if seconds is None else f"{seconds:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-scale"
    )
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--files-per-filler", type=int, default=10)
    parser.add_argument("--small-projects", type=int, default=1_000)
    parser.add_argument("--uploads", type=int, default=30, help="timed uploads per index")
    parser.add_argument("--rounds", type=int, default=5, help="alternations between indexes")
    parser.add_argument("--server", default="gunicorn", help="strongroom serve --server")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the indexes a previous run seeded in --work"
    )
    args = parser.parse_args(argv)
    if not args.reuse:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = {"small": (args.small_projects, 1), "large": (args.projects, args.files_per_filler)}
    out: dict[str, dict[str, Any]] = {}
    data_dirs = {}
    for label, (projects, per_filler) in sizes.items():
        data_dir = args.work / label
        if args.reuse and (data_dir / "strongroom.sqlite3").exists():
            seconds = None  # seeded by an earlier run; `serve` applies any new migration
        else:
            seconds = _seed(data_dir, projects, per_filler)
        import sqlite3

        with sqlite3.connect(data_dir / "strongroom.sqlite3") as db:
            files = db.execute("SELECT COUNT(*) FROM packages_file").fetchone()[0]
            count = db.execute("SELECT COUNT(*) FROM packages_project").fetchone()[0]
        out[label] = {"projects": count, "files": files, "seed_seconds": seconds}
        data_dirs[label] = data_dir
    measured = _measure(data_dirs, args.work, args.uploads, args.seconds, args.rounds, args.server)
    for label, row in measured.items():
        out[label] |= row
        print(label, out[label], flush=True)
    small, large = out["small"], out["large"]
    lines = [
        "# Scale: small index against large index",
        "",
        f"`strongroom serve --server {args.server}`, both indexes served at once and "
        f"measured in {args.rounds} alternating rounds: /simple/smallproj/ loaded by wrk at "
        f"8 connections ({args.seconds} s a round, median of the rounds), and "
        f"{args.uploads} uploads of a small wheel to new projects in all, one at a time, "
        f"after {WARMUP} untimed ones per index.",
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
