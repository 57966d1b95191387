"""Compressed pages and the CDN, measured (issue 20, items 2 and 5).

1. The large page (``bigproj``: BIG_RELEASES releases x 3 files) in each encoding: bytes,
   time to fetch it whole (new connection, median of 20), and requests/s at 32
   connections, on the default ``strongroom serve``.
2. The small page (``smallproj``) straight from ``strongroom serve`` and through Debian's
   Varnish with docs/varnish.vcl (the number a scaled-out deployment gets per node).

    PYTHONPATH=src python bench/cdn.py            # writes bench/results/cdn.{json,md,log}
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import load  # noqa: E402
import peers  # noqa: E402

VCL = BENCH.parent / "docs" / "varnish.vcl"
ENCODINGS = {"identity": "identity", "gzip": "gzip, deflate", "zstd": "gzip, deflate, zstd"}


def _fetch(url: str, accept_encoding: str) -> tuple[int, float, str | None]:
    """(bytes on the wire, ms to read the whole answer on a new connection, coding)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.connect()
    started = time.perf_counter()
    conn.request("GET", parts.path, headers={"Accept-Encoding": accept_encoding})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    coding = response.getheader("Content-Encoding")
    conn.close()
    return len(body), elapsed, coding


def _compression_cost(url: str) -> dict[str, float]:
    """What rendering the large page at write time adds: each encoding, median of 5."""
    from strongroom.index import encoding

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", parts.path)
    body = conn.getresponse().read()
    conn.close()
    cost = {}
    for coding in encoding.ENCODINGS:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            encoding.compress_one(body, coding)
            runs.append((time.perf_counter() - started) * 1000)
        cost[coding] = round(statistics.median(runs), 1)
    return cost


def _start_varnish(backend: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
    port = peers.free_port()
    vcl = work / "strongroom.vcl"
    backend_port = urlsplit(backend).port
    vcl.write_text(VCL.read_text().replace('.port = "8000";', f'.port = "{backend_port}";'))
    process = peers._popen(
        [binary, "-F", "-j", "none", "-n", str(work / "varnish-state"),
         "-a", f"127.0.0.1:{port}", "-f", str(vcl), "-s", "malloc,256m"],
        work / "varnishd.log",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    peers.wait_http(base + "/simple/smallproj/", process=process)
    return process, base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "sr-cdn")
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--big-releases", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "projects": args.projects,
        "big_releases": args.big_releases,
        "load_average_before": os.getloadavg()[0],
    }
    print("== seeding", flush=True)
    started = time.monotonic()
    subprocess.run(
        [sys.executable, str(BENCH / "seed.py"), "--data-dir", str(work / "data"),
         "--projects", str(args.projects), "--big-releases", str(args.big_releases),
         "--download-mb", "1"],
        check=True, env=peers.strongroom_env(),
    )  # fmt: skip
    results["seed_seconds"] = round(time.monotonic() - started, 1)
    server = peers.start_strongroom(work / "data", work)
    varnish = None
    try:
        large: dict[str, object] = {}
        for name, header in ENCODINGS.items():
            fetches = [_fetch(server.base + "/simple/bigproj/", header) for _ in range(21)]
            size, _ms, coding = fetches[0]
            rate = load.measure(
                server.base + "/simple/bigproj/", connections=32, seconds=args.seconds,
                repeats=args.repeats, headers={"Accept-Encoding": header},
            )  # fmt: skip
            large[name] = {
                "content_encoding": coding,
                "bytes": size,
                "fetch_ms_median": round(statistics.median(f[1] for f in fetches[1:]), 2),
                "rps": round(rate.rps),
                "p50_ms": rate.p50_ms,
                "p99_ms": rate.p99_ms,
                "errors": rate.errors,
            }
            print(f"  large page, {name:8}: {large[name]}", flush=True)
        results["large page"] = large
        results["write-time compression ms"] = _compression_cost(server.base + "/simple/bigproj/")
        print(f"  compressing it at write time: {results['write-time compression ms']}")
        process, cache = _start_varnish(server.base, work)
        varnish = process
        small: dict[str, object] = {}
        for name, base in (("strongroom (gunicorn)", server.base), ("through Varnish", cache)):
            rate = load.measure(
                base + "/simple/smallproj/", connections=32, seconds=args.seconds,
                repeats=args.repeats, headers={"Accept-Encoding": "gzip"},
            )  # fmt: skip
            small[name] = rate.__dict__
            print(f"  small page, {name:22}: {rate.rps:9.0f} req/s  p50 {rate.p50_ms:.2f} ms  "
                  f"p99 {rate.p99_ms:.2f} ms  errors {rate.errors}", flush=True)  # fmt: skip
        results["small page"] = small
    finally:
        server.stop()
        if varnish is not None:
            varnish.terminate()
            varnish.wait(15)
    results["load_average_after"] = os.getloadavg()[0]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "cdn.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.results / "cdn.md").write_text(_markdown(results))
    return 0


def _markdown(results: dict[str, object]) -> str:
    lines = [
        "# Compressed pages and Varnish",
        "",
        f"{results['projects']:,} projects; the large page has {results['big_releases']:,} "
        "releases x 3 files. Default `strongroom serve` (gunicorn, 2 workers); load by wrk, "
        "32 connections, on the same 2 shared CPUs. `PYTHONPATH=src python bench/cdn.py`.",
        "",
        "| large /simple/bigproj/ | Content-Encoding | bytes | whole fetch ms (median) "
        "| req/s | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["large page"].items():  # type: ignore[attr-defined]
        lines.append(
            f"| Accept-Encoding: {ENCODINGS[name]} | {row['content_encoding'] or '-'} "
            f"| {row['bytes']:,} | {row['fetch_ms_median']:.1f} | {row['rps']:,} "
            f"| {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
        )
    lines += ["", "| small /simple/smallproj/ | req/s | p50 ms | p99 ms | errors |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    for name, row in results["small page"].items():  # type: ignore[attr-defined]
        lines.append(
            f"| {name} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
            f"| {row['errors']} |"
        )
    cost = results["write-time compression ms"]
    lines += [
        "",
        f"Compressing the large page when it is written (once per change): {cost} ms.",
        f"Load average before/after: {results['load_average_before']:.1f}/"
        f"{results['load_average_after']:.1f} (the machine is shared; figures are noisy).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
