"""Issue 13's benchmark row: a private project's small simple page read with a read token,
against a public project's page of the same size, on one server in the same run.

    PYTHONPATH=src python bench/private_read.py [--seconds 5] [--repeats 3] [--server gunicorn]

The loads alternate (public, private, and the public page asked with a header as long as
the credential, then again) so all see the same machine; the median of each is reported,
with the private page's ratio to the public one (goal: the private page at >= 80% of the
public page's requests/s). Writes bench/results/private-read.json.

Each run also reports the CPU time (user + system) the server's processes spent per
request it answered: on a shared machine requests/s follow whatever else runs, while the
work a request costs the server does much less.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import load  # noqa: E402
from tests.e2e.server import run_cli, running_server  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the app server's workers)."""
    found, todo = [], [pid]
    while todo:
        each = todo.pop()
        found.append(each)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{each}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far (Linux)."""
    total = 0
    for each in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


SEED = """
import tempfile
from pathlib import Path
from strongroom.accounts.models import User
from strongroom.packages.models import File, Project, Release, Role
from strongroom.packages.services import bump_serial
from strongroom.storage import get_storage

owner = User.objects.get(username="benchreader")
for index, name in enumerate(["smallpublic", "smallprivate"]):
    project = Project.objects.create(name=name, normalized_name=name, visibility=(
        "private" if name == "smallprivate" else "public"))
    Role.objects.create(project=project, user=owner, role_name="Owner")
    release = Release.objects.create(project=project, version="1.0", canonical_version="1",
                                     metadata_version="2.1")
    digest = f"{index:02x}" * 32
    path = f"packages/{digest[:2]}/{digest[2:4]}/{digest}/{name}-1.0-py3-none-any.whl"
    source = Path(tempfile.mkdtemp()) / "w"
    source.write_bytes(b"wheel")
    get_storage().save(path, source)
    File.objects.create(release=release, project=project, filename=path.rsplit("/", 1)[1],
                        packagetype="bdist_wheel", python_version="py3", size=5, path=path,
                        sha256_digest=digest, blake2_256_digest="0" * 64, md5_digest="0" * 32)
    bump_serial(project)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", default="gunicorn", choices=["gunicorn", "granian"])
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "private-read.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "data"
        with running_server(data, workers=args.workers, app_server=args.server) as server:
            server.create_user("benchreader", "benchreader@example.org", "Bench-Passw0rd-x-y-z")
            server.django(SEED)
            made = run_cli(
                "token", "create", "--user", "benchreader", "--name", "bench", "--read",
                data_dir=server.data_dir, env=server.env,
            )  # fmt: skip
            token = made.stdout.strip().splitlines()[-1]
            credential = base64.b64encode(f"__token__:{token}".encode()).decode()
            accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
            loads = {
                "public": (f"{server.base_url}/simple/smallpublic/", accept),
                "private": (
                    f"{server.base_url}/simple/smallprivate/",
                    {**accept, "Authorization": f"Basic {credential}"},
                ),
                # The public page asked with a header as long as the credential: what the
                # bigger request alone costs (the server reads and parses every byte).
                "public_same_size": (
                    f"{server.base_url}/simple/smallpublic/",
                    {**accept, "X-Padding": "x" * len(f"Basic {credential}")},
                ),
            }
            rps: dict[str, list[float]] = {name: [] for name in loads}
            cpu: dict[str, list[float]] = {name: [] for name in loads}
            errors = 0
            for _ in range(args.repeats):
                for name, (url, headers) in loads.items():
                    before = cpu_seconds(server.process.pid)
                    result = load.run_wrk(
                        url, connections=args.connections, seconds=args.seconds, headers=headers
                    )
                    spent = cpu_seconds(server.process.pid) - before
                    rps[name].append(result.rps)
                    answered = result.rps * args.seconds
                    cpu[name].append(round(spent / answered * 1e6, 1) if answered else 0.0)
                    errors += result.errors
    public, private = statistics.median(rps["public"]), statistics.median(rps["private"])
    per_request = {name: statistics.median(values) for name, values in cpu.items()}
    public_cpu, private_cpu = per_request["public"], per_request["private"]
    report = {
        "server": args.server,
        "workers": args.workers,
        "connections": args.connections,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "public_rps": round(public, 1),
        "private_with_read_token_rps": round(private, 1),
        "ratio": round(private / public, 3) if public else None,
        "goal": 0.8,
        "public_same_size_rps": round(statistics.median(rps["public_same_size"]), 1),
        "server_cpu_us_per_request": per_request,
        "cpu_ratio": round(public_cpu / private_cpu, 3) if private_cpu else None,
        "errors": errors,
        "runs": rps,
        "cpu_runs": cpu,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
