"""One command: seed, start every server, load each in turn, write bench/results/.

    python bench/run.py                 # full run (10,000 projects; about 15 minutes)
    python bench/run.py --quick         # a smaller, shorter run to try the machinery

Servers: Strongroom (`strongroom serve`, embedded mode: SQLite + folder) on gunicorn and on
granian, pypiserver and devpi-server (from PyPI, in their own venv, never in the project's),
nginx serving a static copy of Strongroom's pages (when nginx is installed). Each is loaded
alone with wrk (or a Python client when wrk is absent), for a bounded time and number of
connections on loopback; every load runs --repeats times and the median is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers
import report
import seed

BENCH = Path(__file__).resolve().parent
JSON_ACCEPT = {"Accept": "application/vnd.pypi.simple.v1+json"}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback
        return bytes(response.read())


def _download_path(simple_page: bytes, filename: str) -> str:
    match = re.search(rb'href="([^"#]*' + re.escape(filename.encode()) + rb")", simple_page)
    if match is None:
        raise RuntimeError(f"{filename} is not on the page")
    return match[1].decode()


def _static_copy(strongroom: str, root: Path, download: str) -> None:
    """What nginx serves: Strongroom's own bytes, written as files."""
    for rel in ("simple/", "simple/smallproj/", "simple/bigproj/"):
        target = root / rel / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_get(strongroom + "/" + rel))
    target = root / download.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(_get(strongroom + download))


def _scenarios(server: peers.Server) -> list[tuple[str, str, dict[str, str], int]]:
    """(scenario, path, headers, connections) the server offers."""
    found = []
    for key, path in server.paths.items():
        connections = 8 if key == "download 10 MiB" else 32
        found.append((key, path, {}, connections))
    for key, path in server.json_paths.items():
        found.append((key, path, JSON_ACCEPT, 32))
    return found


def _bench_server(
    server: peers.Server, args: argparse.Namespace, results: dict[str, object]
) -> None:
    print(f"== {server.name}", flush=True)
    rows: dict[str, object] = {}
    results[server.name] = rows
    budget_end = time.monotonic() + args.server_seconds
    for scenario, path, headers, connections in _scenarios(server):
        if time.monotonic() > budget_end:
            rows[scenario] = {"error": f"skipped: server time budget ({args.server_seconds} s)"}
            print(f"  {scenario:28} skipped (time budget)", flush=True)
            continue
        try:
            result = load.measure(
                server.base + path,
                connections=connections,
                seconds=args.seconds,
                repeats=args.repeats,
                headers=headers,
            )
        except Exception as exc:  # a peer that breaks is reported; the run goes on
            rows[scenario] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            print(f"  {scenario:28} failed: {rows[scenario]}", flush=True)
            continue
        rows[scenario] = result.__dict__ | {"connections": connections}
        print(
            f"  {scenario:28} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  "
            f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}",
            flush=True,
        )
    if "index" in server.paths:
        try:
            cold, warm = load.first_byte(server.base + server.paths["index"])
        except OSError:  # pypiserver on 10,000 projects under load: record, go on
            cold = warm = float("inf")
        rows["index first byte"] = {"cold_ms": cold, "warm_ms": warm}
        print(f"  /simple/ first byte: first {cold:.1f} ms, then {warm:.1f} ms", flush=True)


def _failed(results: dict[str, object], name: str, exc: Exception) -> None:
    """A server that could not be started, seeded or loaded: reported, the run goes on."""
    message = f"{type(exc).__name__}: {exc}"[:300]
    print(f"== {name} FAILED: {message}", flush=True)
    rows = results.setdefault(name, {})
    assert isinstance(rows, dict)
    rows["error"] = message


def _stop(server: peers.Server | None) -> None:
    if server is not None:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-bench"
    )
    parser.add_argument(
        "--peers-venv",
        type=Path,
        default=Path(os.environ.get("BENCH_PEERS_VENV", BENCH / ".venv-peers")),
    )
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--big-releases", type=int, default=2_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devpi-seconds", type=int, default=300, help="time budget to seed devpi")
    parser.add_argument(
        "--server-seconds", type=int, default=300, help="time budget to load one server"
    )
    parser.add_argument("--quick", action="store_true", help="1,000 projects, short runs")
    parser.add_argument("--skip", action="append", default=[], help="a server to leave out")
    parser.add_argument(
        "--candidate",
        action="append",
        default=[],
        choices=["uwsgi"],
        help="also measure Strongroom on a server it does not offer (bench/uwsgi_serve.py)",
    )
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.big_releases, args.seconds, args.repeats = 1000, 200, 3, 1
        args.devpi_seconds, args.server_seconds = 60, 120

    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    files = work / "files"
    print("== seeding Strongroom", flush=True)
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            str(BENCH / "seed.py"),
            "--data-dir",
            str(work / "strongroom"),
            "--projects",
            str(args.projects),
            "--big-releases",
            str(args.big_releases),
            "--peer-files",
            str(files),
        ],
        check=True,
        env=peers.strongroom_env(),
    )
    seeded = {"strongroom_seconds": round(time.monotonic() - started, 1)}
    results: dict[str, object] = {}
    meta: dict[str, object] = {
        "projects": args.projects,
        "big_releases": args.big_releases,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": "wrk" if shutil.which("wrk") else "python",
        "loadavg_before": os.getloadavg(),
    }
    paths = {
        "small /simple/<p>/": "/simple/smallproj/",
        "large /simple/<p>/": "/simple/bigproj/",
        "index": "/simple/",
    }
    json_paths = {
        "small /simple/<p>/ JSON": "/simple/smallproj/",
        "large /simple/<p>/ JSON": "/simple/bigproj/",
    }
    download = _download_path(_get_once(work, args), "bigfile-1.0-py3-none-any.whl")

    for kind in ("granian", "gunicorn", *args.candidate):
        if f"strongroom-{kind}" in args.skip:
            continue
        server = None
        try:
            server = peers.start_strongroom(work / "strongroom", work, server=kind)
            server.paths = paths | {"download 10 MiB": download}
            server.json_paths = dict(json_paths)
            if kind == "granian" and "nginx" not in args.skip and shutil.which("nginx"):
                _static_copy(server.base, work / "static", download)
            _bench_server(server, args, results)
        except Exception as exc:
            _failed(results, f"strongroom ({kind})", exc)
        finally:
            _stop(server)

    if "nginx" not in args.skip and (work / "static").exists():
        server = None
        try:
            server = peers.start_nginx(work / "static", work)
            server.paths = paths | {"download 10 MiB": download}
            _bench_server(server, args, results)
        except Exception as exc:
            _failed(results, "nginx (static)", exc)
        finally:
            _stop(server)

    try:
        bin_dir = peers.peers_venv(args.peers_venv)
    except Exception as exc:
        _failed(results, "pypiserver", exc)
        _failed(results, "devpi", exc)
        args.skip += ["pypiserver", "devpi"]
    if "pypiserver" not in args.skip:
        server = None
        try:
            server = peers.start_pypiserver(bin_dir, files, work, timeout=args.server_seconds)
            server.paths = paths | {"download 10 MiB": "/packages/bigfile-1.0-py3-none-any.whl"}
            _bench_server(server, args, results)
        except Exception as exc:
            _failed(results, "pypiserver", exc)
        finally:
            _stop(server)

    if "devpi" not in args.skip:
        server = None
        try:
            server = peers.start_devpi(bin_dir, work)
            index = peers.devpi_index(bin_dir, server, work)
            print("== seeding devpi (HTTP uploads)", flush=True)
            started = time.monotonic()
            deadline = started + args.devpi_seconds
            # devpi takes a few uploads a second: the pages measured first, then the rest.
            first = (seed.SMALL, seed.DOWNLOAD)
            everything = list(seed.package_set(args.projects, args.big_releases))
            dists = [
                (d.project, d.version, d.filename)
                for d in sorted(everything, key=lambda d: d.project not in first)
            ]
            done, failed = peers.seed_devpi(index, files, dists, deadline)
            devpi_projects = len({p for p, _v, _f in dists[: done + failed]})
            devpi_big = sum(1 for p, _v, _f in dists[: done + failed] if p == seed.BIG)
            seeded |= {
                "devpi_seconds": round(time.monotonic() - started, 1),
                "devpi_files": done,
                "devpi_failed": failed,
                "devpi_files_wanted": len(dists),
                "devpi_projects": devpi_projects,
                "devpi_big_files": devpi_big,
            }
            print(f"  devpi: {done} files uploaded, {failed} failed", flush=True)
            prefix = "/root/bench/+simple"
            page = _get(f"{server.base}{prefix}/bigfile/")
            server.paths = {
                "small /simple/<p>/": f"{prefix}/smallproj/",
                "large /simple/<p>/": f"{prefix}/bigproj/",
                "index": f"{prefix}/",
                # devpi's links are relative to the page ("../../+f/...").
                "download 10 MiB": urllib.parse.urlsplit(
                    urllib.parse.urljoin(
                        f"{server.base}{prefix}/bigfile/",
                        _download_path(page, "bigfile-1.0-py3-none-any.whl"),
                    )
                ).path,
            }
            server.json_paths = {
                "small /simple/<p>/ JSON": f"{prefix}/smallproj/",
                "large /simple/<p>/ JSON": f"{prefix}/bigproj/",
            }
            _bench_server(server, args, results)
        except Exception as exc:
            _failed(results, "devpi", exc)
        finally:
            _stop(server)

    extra: dict[str, object] = {}
    for name in ("upload", "tokens"):
        if name in args.skip:
            continue
        out = work / f"{name}.json"
        try:
            subprocess.run(
                [sys.executable, str(BENCH / f"{name}.py"), "--work", str(work), "--out", str(out)],
                check=True,
                timeout=600,
                env=peers.strongroom_env(),
            )
            extra[name] = json.loads(out.read_text())
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            extra[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:300]

    meta["seeding"] = seeded
    meta["loadavg_after"] = os.getloadavg()
    args.results.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "servers": results, **extra}
    (args.results / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (args.results / "results.md").write_text(report.markdown(data))
    report.chart(data, args.results / "results.png")
    print((args.results / "results.md").read_text())
    return 0


def _get_once(work: Path, args: argparse.Namespace) -> bytes:
    """bigfile's simple page, read from a briefly started Strongroom."""
    server = peers.start_strongroom(work / "strongroom", work, server="gunicorn", workers=1)
    try:
        return _get(server.base + "/simple/bigfile/")
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
