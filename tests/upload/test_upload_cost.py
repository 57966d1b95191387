"""Upload time must not grow with the size of the index: no query an upload makes may
scan a table that grows with it (bench/scale.py measures the time itself)."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.distributions import post_upload, upload_form

# Tables whose size does not depend on the number of projects, releases, files or users.
SMALL_TABLES = {"packages_indexserial", "django_migrations"}


def _sqlite_scans(cursor, sql: str) -> set[str]:  # type: ignore[no-untyped-def]
    cursor.execute("EXPLAIN QUERY PLAN " + sql)
    scanned = set()
    for row in cursor.fetchall():
        step = row[-1]
        # "SEARCH t USING (COVERING) INDEX ..." or "... PRIMARY KEY": a lookup. "SCAN t ..."
        # reads the table or a whole index; a bare "SEARCH t" (MIN/MAX of an unindexed
        # column) reads every row as well.
        match = re.match(r"(SCAN|SEARCH) (\w+)", step)
        if match and not (match.group(1) == "SEARCH" and " USING " in step):
            scanned.add(match.group(2))
    return scanned


def _postgresql_scans(cursor, sql: str) -> set[str]:  # type: ignore[no-untyped-def]
    # On tables this small the planner would rather read everything; told not to, it still
    # must wherever no index serves the query. So a sequential scan left is a missing index.
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
    (plan,) = cursor.fetchone()
    scanned = set()
    nodes = [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node.get("Node Type") == "Seq Scan":
            scanned.add(node["Relation Name"])
        nodes.extend(node.get("Plans", []))
    return scanned


@pytest.mark.django_db
def test_no_query_of_an_upload_scans_a_growing_table(client, user, settings):
    # A project of the uploader's already exists, with a raised limit somewhere else: the
    # first file of a new project and a further release both go through every check.
    assert post_upload(client, upload_form(name="cost-old", version="1.0")).status_code == 200
    from strongroom.packages.models import Project

    Project.objects.filter(normalized_name="cost-old").update(upload_limit=200 * 2**20)
    scans = _sqlite_scans if connection.vendor == "sqlite" else _postgresql_scans
    for name, version in (("cost-new", "1.0"), ("cost-old", "2.0")):
        with CaptureQueriesContext(connection) as captured:
            response = post_upload(client, upload_form(name=name, version=version))
        assert response.status_code == 200, response.reason_phrase
        selects = [q for q in captured.captured_queries if q["sql"].lstrip().startswith("SELECT")]
        assert len(selects) > 10
        growing: dict[str, str] = {}
        with transaction.atomic(), connection.cursor() as cursor:
            for query in selects:
                # Re-plan each statement as run (Django logs it with its values inlined).
                for table in scans(cursor, query["sql"]) - SMALL_TABLES:
                    growing.setdefault(table, query["sql"][:200])
        assert not growing, growing
