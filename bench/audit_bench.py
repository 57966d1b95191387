"""Audit log at 100,000 events on SQLite: staff page, filters, own history, verify, export.

    PYTHONPATH=src python bench/audit_bench.py [--events 100000]

Builds a throw-away data dir, writes the events through the real chain (record_event's
append, in batches), then times the pages through Django's test client as a staff user.
Not a test: numbers depend on the machine; see the report in the commit message / PR.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["STRONGROOM_DATA_DIR"] = tempfile.mkdtemp(prefix="strongroom-audit-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from strongroom.accounts.models import User
    from strongroom.events import chain
    from strongroom.events.models import Event
    from strongroom.events.tags import EventTag
    from strongroom.packages.models import Project

    call_command("migrate", verbosity=0)
    staff = User.objects.create_user("staff", "x" * 20, is_staff=True, is_superuser=True)
    users = [User.objects.create_user(f"user{i}", "x" * 20) for i in range(200)]
    projects = [
        Project.objects.create(name=f"proj{i}", normalized_name=f"proj{i}") for i in range(50)
    ]
    tags = [t.value for t in EventTag]
    rng = random.Random(1)
    start = timezone.now() - timedelta(days=365)
    step = timedelta(days=365) / args.events
    t0 = time.perf_counter()
    batch = 5000
    for offset in range(0, args.events, batch):
        with transaction.atomic():
            for i in range(offset, min(offset + batch, args.events)):
                user = rng.choice(users)
                chain.append(
                    Event(
                        created=start + step * i,
                        tag=rng.choice(tags),
                        actor=user,
                        user=user,
                        project=rng.choice(projects) if rng.random() < 0.3 else None,
                        ip=f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(256)}",
                        user_agent="twine/6.1.0 CPython/3.12.8",
                        extra={"n": i},
                    )
                )
    write = time.perf_counter() - t0
    print(f"wrote {args.events} chained events in {write:.1f}s ({args.events / write:,.0f}/s)")

    client = Client()
    client.force_login(staff)
    owner = Client()
    owner.force_login(users[0])
    some_ip = Event.objects.order_by("?").values_list("ip", flat=True).first()
    mid = (start + timedelta(days=180)).date().isoformat()
    cases = [
        ("staff: first page, no filter", client, "/manage/audit/", {}),
        ("staff: page 1000", client, "/manage/audit/", {"page": 1000}),
        ("staff: last page", client, "/manage/audit/", {"page": "last"}),
        ("staff: user filter", client, "/manage/audit/", {"user": "user7"}),
        ("staff: project filter", client, "/manage/audit/", {"project": "proj3"}),
        ("staff: tag filter", client, "/manage/audit/", {"tag": "account:login:failure"}),
        ("staff: ip filter", client, "/manage/audit/", {"ip": some_ip}),
        ("staff: one week", client, "/manage/audit/", {"since": mid, "until": mid}),
        (
            "staff: user+tag+dates",
            client,
            "/manage/audit/",
            {"user": "user7", "tag": "file:add", "since": mid},
        ),
        ("user: own history", owner, "/manage/account/history/", {}),
    ]
    print(f"{'case':32} {'median ms':>10} {'max ms':>8}")
    worst = 0.0
    for label, who, path, query in cases:
        timings = []
        for _ in range(5):
            t = time.perf_counter()
            response = who.get(path, query)
            timings.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        worst = max(worst, max(timings))
        print(f"{label:32} {statistics.median(timings):10.1f} {max(timings):8.1f}")
    t = time.perf_counter()
    result = chain.verify_chain()
    print(f"verify: {result} in {time.perf_counter() - t:.2f}s")
    from strongroom.events.export import stream

    t = time.perf_counter()
    lines = sum(1 for _ in stream(Event.objects.all()))
    print(f"export: {lines} lines in {time.perf_counter() - t:.2f}s")
    print(f"slowest page load: {worst:.0f} ms")
    return 0 if worst < 1000 and result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
