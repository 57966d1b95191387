"""Time verify_token() (issue 5): parse, one database lookup, HMAC, caveat checks.

Runs in-process on the bench data dir (SQLite, warm connection): what the upload
path pays per request to authenticate an API token (verified against an upload context
for smallproj, as ``/legacy/`` does).

    PYTHONPATH=src python bench/seed.py --data-dir WORK/strongroom --projects 100
    PYTHONPATH=src python bench/tokens.py --work WORK --out bench/results/tokens.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)
    os.environ["STRONGROOM_DATA_DIR"] = str((args.work / "strongroom").resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()
    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User
    from strongroom.packages.models import Project
    from strongroom.tokens.contexts import upload_context
    from strongroom.tokens.services import create_token, verify_token

    user = User.objects.get(username="benchowner")
    project = Project.objects.get(normalized_name="smallproj")
    # The CLI's actor (no browser session): what an operator's script would mint with.
    _token, raw = create_token(
        Actor.of(user),
        name=f"verify-bench-{time.time()}",
        project_names=["smallproj"],
        expires_at=None,
    )
    # What the upload path asks of a token: may it upload to smallproj, now?
    for _ in range(50):
        verify_token(raw, upload_context(project, project.name))
    timings = []
    for _ in range(args.runs):
        context = upload_context(project, project.name)
        started = time.perf_counter()
        verify_token(raw, context)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    result = {
        "runs": args.runs,
        "median_us": statistics.median(timings),
        "p99_us": timings[int(len(timings) * 0.99)],
        "note": (
            "upload context for smallproj; verify_token writes last_used at most once per "
            "LAST_USED_RESOLUTION, so the first run pays the UPDATE and the rest read only"
        ),
        "loadavg": os.getloadavg(),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
