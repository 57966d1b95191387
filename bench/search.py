"""Search latency (issue 18): /search/'s query on 10,000 and 100,000 projects.

Fills a fresh database with N projects (names, summaries and keywords drawn from a
vocabulary with a Zipf-like spread, so some words match a third of the index and some
a handful), gives each one to three classifiers, indexes them the way the write path does
(packages.search.write_search_rows), then times what the search page runs: the ranked
first page, its count and the classifier facets (packages.search.search_projects and
classifier_counts). The goal is p99 under 50 ms on both sizes.

    python bench/search.py --sizes 10000 100000 --out bench/results/search.json

Embedded SQLite (FTS5) by default, in a temporary folder; with STRONGROOM_DATABASE_URL
set, PostgreSQL, in the database it names (create it first, drop it after: the run empties
its projects table).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

WORDS = [
    "http", "client", "async", "data", "tools", "django", "flask", "test", "plugin", "cli",
    "json", "parser", "api", "cloud", "aws", "image", "learning", "model", "graph", "web",
    "server", "database", "sql", "orm", "queue", "cache", "redis", "stream", "vector", "text",
    "yaml", "config", "logging", "metrics", "auth", "oauth", "crypto", "hash", "network", "dns",
    "audio", "video", "pd", "excel", "csv", "time", "date", "geo", "map", "plot",
]  # fmt: skip
QUERIES = [
    "http", "client", "django plugin", "data tools", "json parser", "redis cache", "pdf",
    "geo map", "plot", "auth", "stream vector", "crypt", "yaml config", "learning model",
    "audio", "nothingmatches", "web server", "sql orm", "time date", "dns network",
]  # fmt: skip
CLASSIFIERS = [f"Topic :: {w.title()}" for w in WORDS[:20]] + [
    f"Programming Language :: Python :: 3.{minor}" for minor in range(8, 14)
]
PAGE_SIZE = 20


def _word(rng: random.Random) -> str:
    # Zipf-ish: the first words are far more common than the last.
    return WORDS[min(int(rng.paretovariate(1.0)) - 1, len(WORDS) - 1) % len(WORDS)]


def setup_django(data_dir: Path) -> None:
    os.environ["STRONGROOM_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("STRONGROOM_SECRET_KEY", "bench-" + "x" * 50)
    # Filling 100,000 rows takes longer than the server's 10 s statement timeout.
    os.environ.setdefault("STRONGROOM_DATABASE_STATEMENT_TIMEOUT", "600")
    os.environ["DJANGO_SETTINGS_MODULE"] = "strongroom.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(size: int, seed: int = 18) -> None:
    from django.db import connection, transaction

    from strongroom.packages.models import Project, ProjectClassifier
    from strongroom.packages.search import write_search_rows

    rng = random.Random(seed)
    rows = []
    for i in range(size):
        name = f"{_word(rng)}-{_word(rng)}-{i}"
        summary = " ".join(_word(rng) for _ in range(rng.randint(4, 10)))
        keywords = " ".join(_word(rng) for _ in range(rng.randint(0, 4)))
        rows.append(
            Project(
                name=name,
                normalized_name=name,
                skeleton=name,
                summary=summary,
                keywords=keywords,
                latest_version="1.0",
            )
        )
    with transaction.atomic():
        Project.objects.bulk_create(rows, batch_size=5000)
        values = list(Project.objects.values_list("id", "name", "summary", "keywords"))
        write_search_rows(values)
        ProjectClassifier.objects.bulk_create(
            (
                ProjectClassifier(project_id=pk, classifier=classifier)
                for pk, *_ in values
                for classifier in rng.sample(CLASSIFIERS, rng.randint(1, 3))
            ),
            batch_size=5000,
        )
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO packages_project_fts(packages_project_fts) VALUES ('optimize')"
                )
    if connection.vendor == "postgresql":
        # What autovacuum leaves a live database in: the previous size's rows gone from
        # the heap and its indexes, planner statistics for the words. (VACUUM cannot run
        # inside the transaction above.)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE packages_project")
            cursor.execute("VACUUM ANALYZE packages_projectclassifier")


def clear() -> None:
    from django.db import connection

    from strongroom.packages.models import Project

    Project.objects.all().delete()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM packages_project_fts")


def time_queries(rounds: int) -> dict[str, object]:
    from django.core.paginator import Paginator

    from strongroom.packages.search import SearchQuery, classifier_counts, search_projects

    def once(text: str) -> tuple[float, int]:
        start = time.perf_counter()
        results = search_projects(None, SearchQuery(text=text))
        page = Paginator(results, PAGE_SIZE).get_page(1)
        rows = list(page.object_list)
        total = page.paginator.count
        facets = classifier_counts(results)
        assert len(rows) <= PAGE_SIZE and (facets or not total)
        return (time.perf_counter() - start) * 1000, total

    for text in QUERIES:  # warm the caches once
        once(text)
    samples: list[float] = []
    per_query: dict[str, dict[str, float]] = {}
    for text in QUERIES:
        times = []
        total = 0
        for _ in range(rounds):
            ms, total = once(text)
            times.append(ms)
        samples += times
        per_query[text] = {"matches": total, "median_ms": round(statistics.median(times), 2)}
    samples.sort()

    def pct(p: float) -> float:
        return round(samples[min(len(samples) - 1, int(p * len(samples)))], 2)

    return {
        "queries": len(samples),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(samples[-1], 2),
        "per_query": per_query,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "search.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        from django.db import connection

        backend = connection.vendor
        results = []
        for size in args.sizes:
            clear()
            started = time.perf_counter()
            fill(size)
            filled = time.perf_counter() - started
            load_before = os.getloadavg()[0]
            timing = time_queries(args.rounds)
            # The machine is shared: the 1-minute load average around the timed queries
            # says how much of a slow figure was other work competing for the CPUs.
            load = {"load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
            results.append({"projects": size, "fill_s": round(filled, 1), **load, **timing})
            print(
                f"{backend} {size:>7} projects: p50 {timing['p50_ms']} ms, "
                f"p95 {timing['p95_ms']} ms, p99 {timing['p99_ms']} ms",
                flush=True,
            )
        clear()
    report = {
        "backend": backend,
        "goal_p99_ms": 50,
        "page_size": PAGE_SIZE,
        "cpus": os.cpu_count(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.exists() else {}
    existing[backend] = report
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
