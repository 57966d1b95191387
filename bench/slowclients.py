"""Slow clients against each server: while N connections trickle headers, an upload body
or a login form at one byte a second, how are other clients' /simple/ requests answered?

    PYTHONPATH=src python bench/slowclients.py --data-dir /tmp/strongroom-bench/strongroom

Servers: every `strongroom serve --server` choice, 2 workers each (the defaults). Writes
bench/results/slowclients.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import peers  # noqa: E402
from tests.e2e import trickle  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-slowclients"
    )
    parser.add_argument("--servers", nargs="+", default=["gunicorn", "granian"])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "slowclients.json")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {"loadavg_before": os.getloadavg(), "connections": args.connections}
    for name in args.servers:
        server = peers.start_strongroom(args.data_dir, args.work, server=name)
        port = int(server.base.rsplit(":", 1)[1])
        try:
            base = trickle.probe("127.0.0.1", port, "/simple/", seconds=3)
            out[f"{name} none"] = base.__dict__
            print(f"{name:10} none     {base}", flush=True)
            for kind in trickle.KINDS:
                with trickle.trickling("127.0.0.1", port, kind, args.connections) as closed:
                    result = trickle.probe("127.0.0.1", port, "/simple/", seconds=args.seconds)
                row = {**result.__dict__, "closed_by_server": closed[0]}
                out[f"{name} {kind}"] = row
                print(f"{name:10} {kind:8} {row}", flush=True)
        finally:
            server.stop()
    out["loadavg_after"] = os.getloadavg()
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
