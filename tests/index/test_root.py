"""``/simple/`` is served from a root rendered at write time (index.root): only a change to
what it lists renders it again, after the commit, in the background; readers get the
stored root (never a query over all projects), the previous one while a render runs."""

from __future__ import annotations

import gzip
import re
import threading
import time
from typing import Any

import pytest
import zstandard
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from strongroom.accounts.actors import Actor
from strongroom.index import root, root_pages
from strongroom.index.models import SimpleIndex
from strongroom.packages import lifecycle, services
from strongroom.packages.models import Project
from strongroom.packages.visibility_services import set_visibility
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"


def _upload(client: Client, name: str, version: str = "1.0") -> None:
    assert post_upload(client, upload_form(name=name, version=version)).status_code == 200


def _json_names(client: Client, **headers: str) -> list[str]:
    root.wait_for_render()  # PostgreSQL renders after the commit, in a background thread
    response = client.get("/simple/", HTTP_ACCEPT=JSON, **headers)
    assert response.status_code == 200
    return [p["name"] for p in response.json()["projects"]]


def _html_names(client: Client, **headers: str) -> list[str]:
    root.wait_for_render()
    response = client.get("/simple/", **headers)
    assert response.status_code == 200
    return re.findall(r'<a href="/simple/[^"]+/">([^<]+)</a>', response.content.decode())


def _stored_texts() -> list[str]:
    """Every stored copy of the root, decoded."""
    root.wait_for_render()
    row = SimpleIndex.objects.get()
    gz = [gzip.decompress(bytes(row.html_gzip)), gzip.decompress(bytes(row.json_gzip))]
    zs = [zstandard.decompress(bytes(row.html_zstd)), zstandard.decompress(bytes(row.json_zstd))]
    return [bytes(b).decode() for b in (row.html, row.json, *gz, *zs)]


@pytest.fixture
def background(monkeypatch) -> dict[str, Any]:
    """Renders in index.root's background thread (the PostgreSQL way, which the embedded
    SQLite database does not take), held until ``release`` is set; ``renders`` counts."""
    state: dict[str, Any] = {"release": threading.Event(), "renders": 0}
    real = root_pages.render

    def held() -> SimpleIndex:
        assert state["release"].wait(10)
        state["renders"] += 1
        return real()

    monkeypatch.setattr(root_pages, "render", held)
    monkeypatch.setattr(root, "_renders_here", lambda: connection.in_atomic_block)
    yield state
    state["release"].set()
    assert root.wait_for_render()


def test_a_new_project_appears_after_its_first_upload_once_the_render_finished(
    client, user, background
):
    background["release"].set()
    _upload(client, "first")
    assert root.wait_for_render()
    assert _json_names(Client()) == ["first"]
    _upload(client, "second")
    assert root.wait_for_render()  # deterministic: the render requested by that commit
    assert _json_names(Client()) == ["first", "second"]
    assert _html_names(Client()) == ["first", "second"]


def test_the_previous_root_is_served_while_a_render_runs_and_renders_coalesce(
    client, user, background
):
    background["release"].set()
    _upload(client, "first")
    assert root.wait_for_render()
    before = Client().get("/simple/", HTTP_ACCEPT=JSON)
    renders = background["renders"]
    background["release"].clear()
    for name in ("second", "third", "fourth"):
        _upload(client, name)
    # The render is held: readers get the stored root, never a missing one.
    during = Client().get("/simple/", HTTP_ACCEPT=JSON)
    assert during.status_code == 200 and during["ETag"] == before["ETag"]
    assert [p["name"] for p in during.json()["projects"]] == ["first"]
    background["release"].set()
    assert root.wait_for_render()
    assert _json_names(Client()) == ["first", "fourth", "second", "third"]
    # Three commits while one render was held: that one and one more, not three.
    assert background["renders"] - renders == 2


def test_background_renders_are_paced_to_a_third_of_the_time(client, user, monkeypatch):
    """However fast listing changes come, the next render waits twice the last one's
    time: changes during the pause are all met by the one render after it."""
    starts: list[float] = []
    ends: list[float] = []
    real = root_pages.render

    def slow() -> SimpleIndex:
        starts.append(time.monotonic())
        time.sleep(1.0)  # a render at PyPI's size takes seconds
        page = real()
        ends.append(time.monotonic())
        return page

    monkeypatch.setattr(root_pages, "render", slow)
    monkeypatch.setattr(root, "_renders_here", lambda: connection.in_atomic_block)
    _upload(client, "first")
    assert root.wait_for_render()
    _upload(client, "second")
    _upload(client, "third")
    assert root.wait_for_render()
    assert len(starts) == 2
    took = ends[0] - starts[0]
    assert starts[1] - ends[0] >= 2 * took
    assert _json_names(Client()) == ["first", "second", "third"]


def test_after_another_process_stored_a_new_root_a_reader_gets_the_previous_body_at_once(
    client, user, background, monkeypatch
):
    """The new body (tens of MB at PyPI's size) is fetched by one background thread of
    the process; meanwhile its readers get the body it has, never waiting for the fetch."""
    fetched = threading.Event()
    fetches: list[str] = []
    real_fetch = root._fetch

    def held_fetch(name: str) -> root.StoredRoot | None:
        if threading.current_thread().name == "index-root-fetch":
            fetches.append(name)
            assert fetched.wait(10)
        return real_fetch(name)

    monkeypatch.setattr(root, "_fetch", held_fetch)
    background["release"].set()
    _upload(client, "first")
    assert root.wait_for_render()
    before = Client().get("/simple/", HTTP_ACCEPT=JSON)
    background["release"].clear()  # this process's own render is held...
    _upload(client, "second")
    root.store(root_pages.page_of(root_pages.render_bodies()))  # ...another process stored the root
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            during = Client().get("/simple/", HTTP_ACCEPT=JSON)
        assert during.status_code == 200 and during["ETag"] == before["ETag"]
        assert [p["name"] for p in during.json()["projects"]] == ["first"]
        # Not for a CDN to keep: the purge after a render may be met by this answer.
        assert during["Cache-Control"] == "no-cache"
        assert during["Surrogate-Control"] == "max-age=0"
        bodies = [q for q in queries.captured_queries if "last_modified, json" in q["sql"]]
        assert not bodies  # the request did not read the new body itself
    deadline = time.monotonic() + 10
    while not fetches and time.monotonic() < deadline:
        time.sleep(0.01)  # the fetch thread starting
    assert fetches == ["json"]  # one fetch, asked by the first of the three readers
    fetched.set()
    assert root.wait_for_fetch()
    after = Client().get("/simple/", HTTP_ACCEPT=JSON)
    assert after["ETag"] != before["ETag"]
    assert [p["name"] for p in after.json()["projects"]] == ["first", "second"]
    assert "max-age=0" not in after["Surrogate-Control"]


def test_an_upload_to_a_listed_project_does_not_render_the_root_again(client, user, background):
    background["release"].set()
    _upload(client, "first")
    assert root.wait_for_render()
    etag = Client().get("/simple/")["ETag"]
    renders = background["renders"]
    _upload(client, "first", "1.1")
    _upload(client, "first", "1.2")
    assert root.wait_for_render()
    assert background["renders"] == renders
    assert Client().get("/simple/", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_private_project_is_never_in_the_stored_root(client, user):
    _upload(client, "open")
    _upload(client, "secret")
    project = Project.objects.get(normalized_name="secret")
    assert set_visibility(Actor.of(user), project, "private")
    _upload(client, "secret", "1.1")  # a change to it does not bring it back
    anonymous = Client()
    assert _json_names(anonymous) == ["open"] == _html_names(anonymous)
    assert all("secret" not in text for text in _stored_texts())
    for coding in ("gzip", "zstd"):
        response = anonymous.get("/simple/", HTTP_ACCEPT_ENCODING=coding)
        assert response["Content-Encoding"] == coding
        assert b"secret" not in response.content
        assert b"open" in (gzip.decompress if coding == "gzip" else zstandard.decompress)(
            response.content
        )
    # Its owner sees it (the stored root plus their private names); a stranger does not.
    owner = Client()
    owner.force_login(user)
    assert _json_names(owner) == ["open", "secret"] == _html_names(owner)
    stranger = Client()
    stranger.force_login(UserFactory(username="bob"))
    assert _json_names(stranger) == ["open"] == _html_names(stranger)
    # Public again: listed again.
    assert set_visibility(Actor.of(user), Project.objects.get(pk=project.pk), "public")
    assert _json_names(anonymous) == ["open", "secret"]


def test_an_authenticated_site_answers_each_reader_with_what_they_may_read(client, user, settings):
    _upload(client, "open")
    _upload(client, "secret")
    assert set_visibility(Actor.of(user), Project.objects.get(normalized_name="secret"), "private")
    settings.READ_ACCESS = "authenticated"
    assert Client().get("/simple/").status_code == 401
    owner = Client()
    owner.force_login(user)
    assert _json_names(owner) == ["open", "secret"] == _html_names(owner)
    stranger = Client()
    stranger.force_login(UserFactory(username="bob"))
    response = stranger.get("/simple/", HTTP_ACCEPT_ENCODING="gzip")
    assert "private" in response["Cache-Control"] and "Surrogate-Key" not in response
    assert _json_names(stranger) == ["open"] == _html_names(stranger)


def test_quarantine_removes_a_project_from_the_root_and_release_brings_it_back(client, user):
    _upload(client, "open")
    _upload(client, "bad")
    staff = Actor.operator()  # staff in the web confirm with a second factor: tests/lifecycle
    lifecycle.quarantine_project(staff, Project.objects.get(normalized_name="bad"), "malware")
    assert _json_names(Client()) == ["open"] == _html_names(Client())
    assert all("bad" not in text for text in _stored_texts())
    owner = Client()
    owner.force_login(user)
    assert _json_names(owner) == ["open"]  # not even to its owner
    lifecycle.release_project(staff, Project.objects.get(normalized_name="bad"), "cleared")
    assert _json_names(Client()) == ["bad", "open"]


def test_a_removed_project_leaves_the_root(client, user):
    _upload(client, "open")
    _upload(client, "gone")
    assert _json_names(Client()) == ["gone", "open"]
    services.remove_project(Actor.of(user), Project.objects.get(normalized_name="gone"))
    assert _json_names(Client()) == ["open"] == _html_names(Client())


@pytest.mark.parametrize("coding", [None, "gzip", "zstd"])
def test_etag_and_304_per_format_and_coding(client, user, coding):
    _upload(client, "first")
    assert root.wait_for_render()  # rendered after the commit, in the background
    headers = {"HTTP_ACCEPT_ENCODING": coding} if coding else {}
    for number, accept in enumerate((JSON, "text/html")):
        first = Client().get("/simple/", HTTP_ACCEPT=accept, **headers)
        etag = first["ETag"]
        assert first.status_code == 200 and etag.startswith('"i')
        assert first.get("Content-Encoding") == coding
        again = Client().get("/simple/", HTTP_ACCEPT=accept, HTTP_IF_NONE_MATCH=etag, **headers)
        assert again.status_code == 304 and again["ETag"] == etag
        _upload(client, "first", f"1.{number + 1}")  # same listing: still current
        assert (
            Client().get("/simple/", HTTP_ACCEPT=accept, HTTP_IF_NONE_MATCH=etag, **headers)
        ).status_code == 304
    _upload(client, "second")  # a new listing: a new ETag, once rendered
    assert root.wait_for_render()
    changed = Client().get("/simple/", HTTP_IF_NONE_MATCH=etag, **headers)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_json_and_html_forms_agree(client, user):
    for name in ("Zeta.Pkg", "alpha", "mid_dle"):
        _upload(client, name)
    assert root.wait_for_render()
    data = Client().get("/simple/", HTTP_ACCEPT=JSON).json()
    html = Client().get("/simple/").content.decode()
    links = re.findall(r'<a href="/simple/([^"]+)/">([^<]+)</a>', html)
    assert [name for _normalized, name in links] == [p["name"] for p in data["projects"]]
    assert [normalized for normalized, _name in links] == ["alpha", "mid-dle", "zeta-pkg"]
    assert data["meta"]["_last-serial"] == SimpleIndex.objects.get().serial


def test_a_read_of_the_stored_root_never_lists_the_projects(client, user):
    _upload(client, "first")
    Client().get("/simple/")  # stored
    with CaptureQueriesContext(connection) as queries:
        for accept in (JSON, "text/html"):
            assert Client().get("/simple/", HTTP_ACCEPT=accept).status_code == 200
    assert not [q for q in queries.captured_queries if "packages_project" in q["sql"]]


def test_with_extras_matches_a_full_render():
    from strongroom.index import pages

    for public, extra in ([], [("a", "a")]), ([("a", "a")], [("b", "b"), ("c", "c")]):
        for as_json in (False, True):
            render = pages.simple_index_json if as_json else pages.simple_index_html
            base = (render(public, 7) if as_json else render(public)).encode()  # type: ignore[call-arg]
            whole = render(public + extra, 7) if as_json else render(public + extra)  # type: ignore[call-arg]
            assert root.with_extras(base, as_json, extra) == whole.encode()


def test_serve_renders_a_missing_or_stale_root_before_any_reader(client, user):
    """``strongroom serve`` calls prepare_at_start before its workers start: a reader then
    never renders the root in its request (seconds at PyPI's size)."""
    _upload(client, "first")
    root.wait_for_render()
    assert root.prepare_at_start() is None  # current: nothing to do
    SimpleIndex.objects.all().delete()  # a new or migrated index
    assert root.prepare_at_start() is not None
    assert SimpleIndex.objects.get().serial >= 1
    with CaptureQueriesContext(connection) as queries:
        assert _json_names(Client()) == ["first"]
    assert not [q for q in queries.captured_queries if "packages_project" in q["sql"]]
    # A stored root older than the listing's last change (a restore, a writer that died).
    stored = SimpleIndex.objects.get()
    SimpleIndex.objects.update(serial=0)
    assert root.prepare_at_start() is not None
    assert SimpleIndex.objects.get().serial == stored.serial
    assert root.prepare_at_start() is None
