"""Back-to-back: Strongroom on granian and on gunicorn, nginx, then both again, on the
data of a finished `bench/run.py` (its --work dir holds the seeded index and nginx's
static copy), so the ratio to nginx is not skewed by other load on the machine changing
between servers.

    PYTHONPATH=src python bench/granian_vs_nginx.py --work /tmp/strongroom-bench
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import peers

BENCH = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-bench"
    )
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "granian-vs-nginx.json")
    args = parser.parse_args(argv)
    work: Path = args.work
    out: dict[str, object] = {"loadavg_before": os.getloadavg()}
    for name in ("granian", "gunicorn", "nginx", "granian2", "gunicorn2"):
        if name == "nginx":
            server = peers.start_nginx(work / "static", work)
        else:
            kind = name.rstrip("2")
            server = peers.start_strongroom(work / "strongroom", work, server=kind)
        try:
            for path in ("/simple/smallproj/", "/simple/bigproj/", "/simple/"):
                r = load.measure(
                    server.base + path, connections=32, seconds=5, repeats=3, headers={}
                )
                out[f"{name} {path}"] = r.__dict__
                print(f"{name} {path} {r.rps:.0f} req/s p50 {r.p50_ms:.2f} p99 {r.p99_ms:.2f}")
        finally:
            server.stop()
    out["loadavg_after"] = os.getloadavg()
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
