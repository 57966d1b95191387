"""On PostgreSQL the root's bodies are built by the database (index.root_sql): a reader
must get the very bytes the Python renderer gives, escaping included, or caches and
mirrors comparing them would see two roots for one listing."""

from __future__ import annotations

import json
import os

import pytest
from django.db import connection

from strongroom.index import root_pages, root_sql
from strongroom.packages.models import IndexSerial, Project
from tests.support import require

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]

# Names no upload would accept (they are validated and normalised), here to prove the
# escaping matches anyway: HTML's five characters, JSON's escapes, control characters,
# DEL, non-ASCII (one beyond U+FFFF: a surrogate pair in JSON) and SQL's own quote.
AWKWARD = [
    ("Plain.Name", "plain-name"),
    ("a&b<c>\"d'e", "amp&<lt>\"q'"),
    ('back\\slash/and"quote', "back-slash"),
    ("tab\there\nnew\rline\bbs\fff", "controls"),
    ("bell\x07del\x7fesc\x1b", "bell"),
    ("café-Ünïcode", "café-ünïcode"),
    ("emoji-\U0001f600-\u2028", "emoji"),
    ("it's 100% _under_", "percent"),
    ("", "empty-name"),
]


def _postgresql() -> None:
    require(
        bool(os.environ.get("STRONGROOM_DATABASE_URL")) and connection.vendor == "postgresql",
        "PostgreSQL-only: set STRONGROOM_DATABASE_URL (the scale-out pass of .ci/run does)",
    )


def _documents(bodies: root_sql.Bodies) -> tuple[bytes, bytes]:
    page = root_pages.page_of(bodies)
    return bytes(page.html), bytes(page.json)


def test_the_database_renders_the_same_bytes_as_python_for_awkward_names():
    _postgresql()
    for name, normalized in AWKWARD:
        Project.objects.create(name=name, normalized_name=normalized)
    Project.objects.create(name="Hidden", normalized_name="hidden", visibility="private")
    Project.objects.create(name="Bad", normalized_name="bad", status="quarantined")
    Project.objects.create(name="Old", normalized_name="old", status="archived")
    IndexSerial.objects.update_or_create(pk=1, defaults={"value": 4242})
    in_python, in_database = root_pages.render_bodies_in_python(), root_sql.render_bodies()
    assert (in_database.serial, in_database.changed) == (in_python.serial, in_python.changed)
    html, data = _documents(in_database)
    assert (html, data) == _documents(in_python)
    listed = [n for n in json.loads(data)["projects"]]
    assert len(listed) == len(AWKWARD) + 1  # the archived one too; not private, quarantined
    assert {"name": "emoji-\U0001f600-\u2028"} in listed
    assert "\\ud83d\\ude00" in data.decode() and "&#x27;" in html.decode()
    assert b"Hidden" not in html + data and b"Bad" not in html + data
    # What a reader is served on PostgreSQL is that render.
    assert root_pages.render().html == html


def test_an_empty_index_renders_the_same_bytes_both_ways():
    _postgresql()
    assert _documents(root_sql.render_bodies()) == _documents(root_pages.render_bodies_in_python())
    assert json.loads(root_pages.render().json)["projects"] == []
