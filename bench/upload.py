"""Upload a large wheel the way twine does and watch the server's memory.

Starts `strongroom serve` on the bench data dir, mints an API token with
`strongroom token create`, POSTs a SIZE MiB wheel (multipart, Basic auth
``__token__:<token>``) to /legacy/ while sampling the RSS of every server process
(/proc/<pid>/status VmRSS, master and workers summed) every 10 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers


def make_wheel(path: Path, name: str, version: str, size_mib: int) -> None:
    """A valid wheel holding one incompressible member of ``size_mib`` MiB."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{dist_info}/METADATA", metadata)
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        with archive.open(f"{name}/blob.bin", "w", force_zip64=True) as member:
            block = os.urandom(1024 * 1024)
            for i in range(size_mib):
                member.write(hashlib.sha256(block + i.to_bytes(4, "big")).digest() + block[32:])


def process_tree(root: int) -> list[int]:
    pids = [root]
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(c) for c in children)
    return pids


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--server", default="gunicorn")
    parser.add_argument("--name", default="uploadbench")
    args = parser.parse_args(argv)
    data_dir = args.work / "strongroom"
    wheel = args.work / f"{args.name}-{int(time.time())}.0-py3-none-any.whl"
    version = wheel.name.split("-")[1]
    make_wheel(wheel, args.name, version, args.size_mib)
    token = peers.create_token(data_dir, "benchowner", f"upload-bench-{version}")
    limit = str((args.size_mib + 64) * 1024 * 1024)
    server = peers.start_strongroom(
        data_dir, args.work, server=args.server, STRONGROOM_UPLOAD_MAX_SIZE=limit
    )
    try:
        assert server.process is not None
        time.sleep(1.0)
        pids = process_tree(server.process.pid)
        idle = rss_mib(pids)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mib(pids))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        status = peers.legacy_upload(
            server.base + "/legacy/", "__token__", token, args.name, version, wheel
        )
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    finally:
        server.stop()
        wheel.unlink(missing_ok=True)
    size_mib = wheel_size = args.size_mib
    result = {
        "status": status,
        "size_mib": float(wheel_size),
        "seconds": elapsed,
        "mib_per_s": size_mib / elapsed,
        "idle_mib": idle,
        "peak_mib": peak[0],
        "peak_above_idle_mib": peak[0] - idle,
        "processes": len(pids),
        "server": args.server,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
