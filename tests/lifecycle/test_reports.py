"""Reports: signed-in users report a project (rate limited), staff are emailed, the staff
queue (only for staff with a second factor) resolves with a note or quarantines."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.index import root
from strongroom.packages import lifecycle, reports
from strongroom.packages.models import Project, ProjectReport
from strongroom.packages.services import PackageError
from tests.conftest import log_in
from tests.factories import UserFactory
from tests.lifecycle.conftest import Scene

pytestmark = pytest.mark.django_db(transaction=True)


def _tags() -> list[str]:
    return list(
        Event.objects.filter(tag__regex=r"^project:(report|status):")
        .order_by("pk")
        .values_list("tag", flat=True)
    )


def _signed_in(username: str) -> Client:
    client = Client()
    assert log_in(client, username).status_code == 302
    return client


def test_a_signed_in_user_reports_a_project_and_staff_are_emailed(scene: Scene):
    mail.outbox.clear()
    stranger = _signed_in("stan")
    page = stranger.get("/project/sample/").content.decode()
    assert 'action="/project/sample/report/"' in page
    assert '<label for="id_reason">' in page
    response = stranger.post("/project/sample/report/", {"reason": "It uploads ~/.ssh"})
    assert response.status_code == 302
    report = ProjectReport.objects.get()
    expected = (scene.stranger, "It uploads ~/.ssh", "open")
    assert (report.reporter, report.reason, report.state) == expected
    assert _tags() == ["project:report:add"]
    event = Event.objects.get(tag="project:report:add")
    assert event.extra == {"project": "sample", "report": report.pk}
    assert event.actor_id == scene.stranger.pk
    staff_mail = [m for m in mail.outbox if m.to == ["sofia@example.org"]]
    assert len(staff_mail) == 1 and "New report about sample" in staff_mail[0].subject
    assert f"/reports/{report.pk}/" in staff_mail[0].body
    assert "It uploads ~/.ssh" in staff_mail[0].body
    # The reporter's address and IP are not sent to staff in the email.
    assert "127.0.0.1" not in staff_mail[0].body


def test_anonymous_visitors_are_asked_to_log_in(client, scene: Scene):
    page = client.get("/project/sample/").content.decode()
    assert "Log in</a> to report" in page
    response = client.post("/project/sample/report/", {"reason": "spam"})
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    assert not ProjectReport.objects.exists()
    with pytest.raises(NotPermitted):
        reports.report_project(Actor(), scene.project, "spam")


def test_an_empty_report_is_refused_with_a_sentence(scene: Scene):
    stranger = _signed_in("stan")
    response = stranger.post("/project/sample/report/", {"reason": "   "})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    with pytest.raises(PackageError, match="needs a reason"):
        reports.report_project(Actor.of(scene.stranger), scene.project, " ")
    assert not ProjectReport.objects.exists() and _tags() == []


def test_reports_are_rate_limited_per_account(scene: Scene, settings):
    settings.REPORT_LIMIT_PER_ACCOUNT = "3/hour"
    stranger = _signed_in("stan")
    for n in range(3):
        assert stranger.post("/project/sample/report/", {"reason": f"spam {n}"}).status_code == 302
    refused = stranger.post("/project/sample/report/", {"reason": "spam 4"})
    assert refused.status_code == 400
    assert b"too many reports" in refused.content
    assert ProjectReport.objects.count() == 3 and _tags() == ["project:report:add"] * 3
    # Another account has its own budget.
    assert (
        _signed_in("alice").post("/project/sample/report/", {"reason": "me too"}).status_code == 302
    )


QUEUE_URLS = ["/admin/reports/", "/admin/reports/{id}/", "/admin/project-status/sample/"]
POST_URLS = [
    "/admin/reports/{id}/resolve/",
    "/admin/reports/{id}/quarantine/",
    "/admin/project-status/sample/quarantine",
]


def test_the_staff_pages_are_only_for_staff_with_a_second_factor(scene: Scene):
    report = reports.report_project(Actor.of(scene.stranger), scene.project, "spam")
    anonymous = Client()
    for url in QUEUE_URLS:
        assert anonymous.get(url.format(id=report.pk)).status_code == 404, url
    for url in POST_URLS:
        assert anonymous.post(url.format(id=report.pk), {}).status_code in (404, 302), url
    stranger = _signed_in("stan")
    for url in QUEUE_URLS + POST_URLS:
        response = stranger.post(url.format(id=report.pk), {"quarantine-reason": "x"})
        assert response.status_code == 404, url
    UserFactory(username="sid", staff=True)  # staff with no second factor
    staff_password_only = _signed_in("sid")
    for url in QUEUE_URLS:
        assert staff_password_only.get(url.format(id=report.pk)).status_code == 403, url
    for url in POST_URLS:
        response = staff_password_only.post(
            url.format(id=report.pk), {"quarantine-reason": "x", "resolve-note": "x"}
        )
        assert response.status_code == 403, url
    staff = scene.staff_client()
    queue = staff.get("/admin/reports/")
    assert queue.status_code == 200 and b"sample" in queue.content
    assert staff.get(f"/admin/reports/{report.pk}/").status_code == 200
    assert Project.objects.get().status == "active"
    assert ProjectReport.objects.get().state == "open"


def test_staff_resolve_a_report_with_a_note(scene: Scene):
    report = reports.report_project(Actor.of(scene.stranger), scene.project, "spam")
    staff = scene.staff_client()
    url = f"/admin/reports/{report.pk}/resolve/"
    empty = staff.post(url, {"resolve-note": "", "resolve-code": scene.code()})
    assert empty.status_code == 400
    done = staff.post(url, {"resolve-note": "Not spam.", "resolve-code": scene.code()})
    assert done.status_code == 302
    report.refresh_from_db()
    expected = ("resolved", "Not spam.", scene.staff)
    assert (report.state, report.resolution, report.resolved_by) == expected
    assert _tags() == ["project:report:add", "project:report:resolve"]
    assert b"Not spam." in staff.get("/admin/reports/?state=resolved").content
    assert b"Not spam." not in staff.get("/admin/reports/").content
    again = staff.post(url, {"resolve-note": "x", "resolve-code": scene.code()})
    assert again.status_code == 400 and b"already resolved" in again.content
    assert _tags() == ["project:report:add", "project:report:resolve"]
    with pytest.raises(NotPermitted):
        reports.resolve_report(Actor.of(scene.owner), report, "mine")


def test_staff_quarantine_straight_from_a_report_in_one_event(client, scene: Scene):
    report = reports.report_project(Actor.of(scene.stranger), scene.project, "malware")
    staff = scene.staff_client()
    url = f"/admin/reports/{report.pk}/quarantine/"
    missing = staff.post(url, {"quarantine-reason": "", "quarantine-code": scene.code()})
    assert missing.status_code == 400 and Project.objects.get().status == "active"
    response = staff.post(
        url, {"quarantine-reason": "Credential stealer", "quarantine-code": scene.code()}
    )
    assert response.status_code == 302
    project = Project.objects.get()
    assert (project.status, project.status_reason) == ("quarantined", "Credential stealer")
    report.refresh_from_db()
    assert report.state == "resolved" and report.resolved_by == scene.staff
    assert "Credential stealer" in report.resolution
    assert _tags() == ["project:report:add", "project:status:quarantine"]
    event = Event.objects.get(tag="project:status:quarantine")
    assert event.extra["report"] == report.pk and event.actor_id == scene.staff.pk
    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    assert "sample" not in client.get("/simple/").content.decode()


def test_a_report_cannot_quarantine_another_project(scene: Scene):
    other_owner = UserFactory(username="otto")
    from tests.governance.conftest import make_project

    other = make_project("other", other_owner)
    report = reports.report_project(Actor.of(scene.stranger), other, "spam")
    with pytest.raises(PackageError, match="another project"):
        lifecycle.quarantine_project(
            Actor.of(scene.staff), scene.project, "x", report=report, proof=scene.code()
        )
    assert Project.objects.get(pk=scene.project.pk).status == "active"


def test_staff_change_status_on_the_project_status_page(scene: Scene):
    staff = scene.staff_client()
    page = staff.get("/admin/project-status/sample/")
    assert page.status_code == 200
    assert 'action="/admin/project-status/sample/quarantine"' in page.content.decode()
    base = "/admin/project-status/sample/"
    bogus = staff.post(base + "delete", {"delete-reason": "x", "delete-code": scene.code()})
    assert bogus.status_code == 404
    assert staff.post(base, {"action": "deprecate", "reason": "x"}).status_code == 405

    def change(action: str, **fields: str) -> int:
        data = {f"{action}-{k}": v for k, v in {**fields, "code": scene.code()}.items()}
        return staff.post(base + action, data).status_code  # type: ignore[no-any-return]

    assert change("deprecate", reason="use sample2") == 302
    assert Project.objects.get().status == "deprecated"
    assert change("undeprecate") == 302
    assert change("quarantine", reason="bad") == 302
    assert change("release") == 302
    assert Project.objects.get().status == "active"
    assert _tags() == [
        "project:status:deprecate",
        "project:status:undeprecate",
        "project:status:quarantine",
        "project:status:release",
    ]
