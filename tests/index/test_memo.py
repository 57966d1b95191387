"""index.memo: simple pages reused from memory only while provably current."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strongroom.index import root
from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.index.memo import Answer, DataVersion, PageMemo, version_probe
from tests.distributions import post_upload, upload_form
from tests.index.test_fastwsgi import NotDjango, _call, _refuse


def _answer(size: int, etag: str = '"e"') -> Answer:
    return Answer(etag, None, "text/html", b"x" * size, None)


def test_data_version_moves_only_when_another_connection_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x)")
    probe = DataVersion(str(path))
    first = probe()
    assert first is not None
    assert probe() == first  # nothing written
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (1)")
    assert probe() == first  # not committed yet: readers still see the old data
    writer.execute("COMMIT")
    second = probe()
    assert second is not None and second != first
    writer.execute("INSERT INTO t VALUES (2)")
    assert probe() not in (first, second)
    writer.close()


def test_data_version_reopens_after_a_fork_and_survives_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    sqlite3.connect(path).close()
    probe = DataVersion(str(path))
    assert probe() is not None
    inherited = probe._conn
    probe._pid = -1  # as a forked child sees it: the connection is its parent's
    assert probe() is not None
    assert probe._conn is not inherited
    missing = DataVersion(str(tmp_path / "absent" / "db.sqlite3"))
    assert missing() is None  # unreadable: callers validate against the database instead
    assert not (tmp_path / "absent").exists()  # never creates a database


def test_no_probe_where_a_private_connection_would_not_see_the_data(db) -> None:
    # SQLite's test database is in memory (a private connection would open another, empty
    # one); PostgreSQL has no data_version. Either way every reuse is validated.
    if connection.vendor == "sqlite":
        assert connection.is_in_memory_db()
    assert version_probe() is None


def test_memo_drops_least_recently_used_past_its_size() -> None:
    memo = PageMemo(max_bytes=100)
    memo.put(("/a/", "h"), _answer(40))
    memo.put(("/b/", "h"), _answer(40))
    assert memo.get(("/a/", "h")) is not None  # /a/ is now the most recently used
    memo.put(("/c/", "h"), _answer(40))
    assert memo.get(("/b/", "h")) is None
    assert memo.get(("/a/", "h")) is not None and memo.get(("/c/", "h")) is not None
    assert memo.size == 80
    memo.put(("/a/", "h"), _answer(10, '"new"'))  # replacing keeps the count right
    assert memo.size == 50 and memo.get(("/a/", "h")).etag == '"new"'
    memo.put(("/huge/", "h"), _answer(101))  # larger than the whole memo: not kept
    assert memo.get(("/huge/", "h")) is None and len(memo) == 2


class CountingVersion:
    """A version source the test moves by hand, standing in for SQLite's data_version
    (the real one is tested above; the test database is in memory)."""

    def __init__(self) -> None:
        self.value = 1

    def __call__(self) -> int | None:
        return self.value


@pytest.mark.django_db(transaction=True)
def test_a_remembered_page_is_served_without_a_query_until_something_is_written(client, user):
    assert post_upload(client, upload_form(name="memo-pkg", version="1.0")).status_code == 200
    app = SimpleFastPath(_refuse)
    version = CountingVersion()
    app.probe = version
    first = _call(app, "/simple/memo-pkg/")
    assert first[0] == "200 OK"
    with CaptureQueriesContext(connection) as queries:
        assert _call(app, "/simple/memo-pkg/") == first
        assert _call(app, "/simple/memo-pkg/", if_none_match=first[1]["etag"])[0] == (
            "304 Not Modified"
        )
    assert len(queries) == 0

    # Something was written somewhere: the page is proven current by its ETag alone
    # (one query, without the page body), then served from memory again.
    version.value += 1
    with CaptureQueriesContext(connection) as queries:
        assert _call(app, "/simple/memo-pkg/") == first
    assert len(queries) == 1
    assert "simplepage s ON" in queries[0]["sql"] and "s.html" not in queries[0]["sql"]
    with CaptureQueriesContext(connection) as queries:
        assert _call(app, "/simple/memo-pkg/") == first
    assert len(queries) == 0

    # A new release: the very next request has it.
    assert post_upload(client, upload_form(name="memo-pkg", version="2.0")).status_code == 200
    version.value += 1
    status, headers, body = _call(app, "/simple/memo-pkg/")
    assert status == "200 OK" and headers["etag"] != first[1]["etag"]
    assert b"memo_pkg-2.0-py3-none-any.whl" in body


@pytest.mark.django_db(transaction=True)
def test_without_a_version_source_every_request_is_validated(client, user):
    """PostgreSQL (and an in-memory SQLite): the ETag is checked on every request."""
    assert post_upload(client, upload_form(name="memo-pkg", version="1.0")).status_code == 200
    app = SimpleFastPath(_refuse)
    assert app.probe is None
    first = _call(app, "/simple/memo-pkg/")
    index = _call(app, "/simple/")
    assert post_upload(client, upload_form(name="memo-pkg", version="2.0")).status_code == 200
    assert post_upload(client, upload_form(name="memo-other", version="1.0")).status_code == 200
    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    again = _call(app, "/simple/memo-pkg/")
    assert again[1]["etag"] != first[1]["etag"] and b"memo_pkg-2.0" in again[2]
    index_again = _call(app, "/simple/")
    assert index_again[1]["etag"] != index[1]["etag"] and b"memo-other" in index_again[2]


@pytest.mark.django_db(transaction=True)
def test_a_deleted_project_is_not_served_from_memory(client, user):
    from strongroom.packages.models import Project

    assert post_upload(client, upload_form(name="memo-gone", version="1.0")).status_code == 200
    app = SimpleFastPath(_refuse)
    assert _call(app, "/simple/memo-gone/")[0] == "200 OK"
    Project.objects.filter(normalized_name="memo-gone").delete()
    with pytest.raises(NotDjango):
        _call(app, "/simple/memo-gone/")  # handed to Django, which answers 404


@pytest.mark.django_db(transaction=True)
def test_the_memo_can_be_turned_off(client, user, settings):
    settings.INDEX_MEMO_MB = 0
    assert post_upload(client, upload_form(name="memo-pkg", version="1.0")).status_code == 200
    app = SimpleFastPath(_refuse)
    assert app.memo is None and app.probe is None
    assert _call(app, "/simple/memo-pkg/")[0] == "200 OK"
