"""Time verify_token() (issue 5): parse, one database lookup, HMAC, caveat checks.

Runs in-process on the bench data dir (SQLite, warm connection): what the upload
path pays per request to authenticate an API token.
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
    from strongroom.accounts.models import User
    from strongroom.tokens.services import create_token, verify_token

    user = User.objects.get(username="benchowner")
    _token, raw = create_token(
        user=user, name=f"verify-bench-{time.time()}", project_names=["smallproj"], expires_at=None
    )
    for _ in range(50):
        verify_token(raw)
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        verify_token(raw)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    result = {
        "runs": args.runs,
        "median_us": statistics.median(timings),
        "p99_us": timings[int(len(timings) * 0.99)],
        "note": "includes the last_used UPDATE that verify_token writes",
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
