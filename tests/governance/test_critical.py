"""Download counts (no database work per download) and critical projects (top share by
downloads, or marked by staff), with the email that explains it."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from strongroom.events.models import Event
from strongroom.index.counting import DownloadCounter, counter
from strongroom.index.models import DownloadCount
from strongroom.packages import critical
from strongroom.packages.models import File, Project
from tests.conftest import signed_in_with_second_factor
from tests.console.conftest import fresh_code
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.governance.conftest import give_totp, make_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wheel(client, user, settings):
    settings.DOWNLOAD_FLUSH_EVERY = 10**9
    settings.DOWNLOAD_FLUSH_SECONDS = 10**9
    counter.flush()
    assert post_upload(client, upload_form()).status_code == 200
    return File.objects.get()


def test_downloads_are_counted_without_database_writes(client, wheel, django_assert_num_queries):
    url = "/" + wheel.path
    # One read per download: the file's project (its PEP 792 status and read access, in
    # index.views); counting itself does no database work until the flush.
    with django_assert_num_queries(3) as captured:
        for _ in range(3):
            assert client.get(url).status_code == 200
    assert all("packages_project" in q["sql"] for q in captured.captured_queries)
    client.get(url + ".metadata")  # metadata fetches do not count
    assert counter.pending() == 3 and not DownloadCount.objects.exists()
    assert counter.flush() == 1
    row = DownloadCount.objects.get()
    assert (row.count, row.filename, row.project_id) == (3, wheel.filename, wheel.project_id)
    client.get(url)
    counter.flush()
    assert DownloadCount.objects.get().count == 4  # aggregated into the same day's row


def test_counter_flushes_in_the_background_every_n_downloads(wheel, settings):
    settings.DOWNLOAD_FLUSH_EVERY = 5
    local = DownloadCounter()
    for _ in range(5):
        local.count(wheel.sha256_digest)
    import time

    def flushed() -> bool:
        try:
            return DownloadCount.objects.filter(count=5).exists()
        except OperationalError:
            # The test database is SQLite in memory, shared cache: while the writer thread
            # holds the table, a reader gets "table is locked" at once (no busy wait).
            return False

    deadline = time.monotonic() + 10
    while not flushed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert DownloadCount.objects.get().count == 5


def test_a_flush_as_the_worker_stops_waits_for_a_background_flush_still_writing(wheel, monkeypatch):
    """A worker stopping while its background flush is mid-write must not exit under it:
    the stop's flush returns only once those counts are in the database."""
    import threading
    import time

    from strongroom.index import counting

    real_write = counting.write_counts
    writing = threading.Event()

    def slow_write(counts):  # type: ignore[no-untyped-def]
        writing.set()
        time.sleep(0.5)  # a slow database, as on a loaded machine
        return real_write(counts)

    monkeypatch.setattr(counting, "write_counts", slow_write)
    local = DownloadCounter()
    for _ in range(3):
        local.count(wheel.sha256_digest)
    background = threading.Thread(target=local.flush_and_close)
    background.start()
    assert writing.wait(5)
    local.flush()  # what the stopping worker does
    try:
        assert DownloadCount.objects.get().count == 3
    finally:
        background.join()


def _projects_with_downloads(owner, counts):
    made = []
    for index, downloads in enumerate(counts):
        project = make_project(f"p{index}", owner)
        DownloadCount.objects.create(
            project=project, filename=f"p{index}.whl", day=critical.timezone.now().date(),
            count=downloads,
        )  # fmt: skip
        made.append(project)
    return made


def test_top_share_by_downloads_becomes_critical_and_is_told_why(settings, mailoutbox):
    settings.CRITICAL_SHARE = 0.1
    owner = UserFactory(username="olivia")
    projects = _projects_with_downloads(owner, [5, 500, 7, 3, 1, 0, 0, 0, 0, 0, 2, 9])
    newly = critical.update_critical_projects()  # 12 projects x 10% -> the top 2
    assert [p.name for p in newly] == ["p1", "p11"]
    assert critical.update_critical_projects() == []  # already critical: no second email
    p1 = Project.objects.get(name="p1")
    assert p1.is_critical and p1.critical_since is not None
    event = Event.objects.get(tag="project:critical:marked", project=p1)
    assert event.extra["reason"] == "downloads" and event.extra["downloads"] == 500
    assert not projects[0].__class__.objects.get(name="p0").is_critical
    mail = next(m for m in mailoutbox if "p1 is now a critical project" in m.subject)
    html = mail.alternatives[0][0]
    for promise in [
        "top 10%",  # why, and how chosen
        "last 180 days",
        "authenticator app",  # TOTP apps and security keys both work
        "security key",
        "__token__",  # CI uploads keep working with API tokens
        "/help/critical-projects/",
        "/help/two-factor/",
        "Your account has no second factor yet.",
        "From now (",
    ]:
        assert promise in html, promise
    assert "<h1" in html and "[Strongroom]" in mail.subject
    assert "last 180 days" in mail.body  # the plain-text part says the same


def test_staff_mark_a_project_critical_in_the_console_and_remove_the_mark(client, mailoutbox):
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    owner = UserFactory(username="olivia")
    give_totp(owner)
    project = make_project("widget", owner)
    console = signed_in_with_second_factor(staff)
    response = console.post("/admin/projects/widget/critical", {"critical-code": fresh_code(staff)})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.marked_critical and project.is_critical
    assert Event.objects.get(tag="admin:project:critical").actor == staff
    mail = next(m for m in mailoutbox if "widget is now a critical project" in m.subject)
    assert "administrators" in mail.body and "already has two-factor" in mail.body
    page = console.get(f"/admin/records/packages/project/{project.pk}/change/").content.decode()
    assert "widget is a critical project" in page  # the records page asks mfa.policy too
    response = console.post(
        "/admin/projects/widget/uncritical", {"critical-code": fresh_code(staff)}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert not project.is_critical
    event = Event.objects.get(tag="admin:project:uncritical")
    assert event.actor == staff and event.extra["still_critical"] is False


def test_critical_help_page_explains_without_javascript(client: Client):
    body = client.get("/help/critical-projects/").content.decode()
    assert "top 1%" in body and "180 days" in body and "API token" in body
    assert "<script" not in body
