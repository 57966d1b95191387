"""PEP 792 project status: archive, quarantine, deprecate, release; seen by the simple
API, the project page, downloads and uploads; one audit event and an email each."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.index import root
from strongroom.packages import lifecycle
from strongroom.packages.models import Project, Role
from strongroom.packages.services import PackageError
from strongroom.storage import get_storage
from tests.distributions import post_upload, upload_form
from tests.lifecycle.conftest import JSON, Scene, simple_json
from tests.support import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def _events(tag: EventTag) -> list[Event]:
    return list(Event.objects.filter(tag=tag))


def _status_tags() -> list[str]:
    return sorted(
        Event.objects.filter(tag__startswith="project:status:").values_list("tag", flat=True)
    )


def test_an_active_project_carries_no_status_and_api_version_1_4(client, scene: Scene):
    page = simple_json(client)
    assert page["meta"]["api-version"] == "1.4"
    assert "project-status" not in page
    html = client.get("/simple/sample/").content.decode()
    assert '<meta name="pypi:repository-version" content="1.4">' in html
    assert "pypi:project-status" not in html


def test_owner_archives_uploads_are_refused_installs_still_work(client, scene: Scene):
    mail.outbox.clear()
    lifecycle.archive_project(scene.owner_actor(), scene.project, "moved to sample2")
    assert _status_tags() == ["project:status:archive"]
    event = _events(EventTag.PROJECT_STATUS_ARCHIVE)[0]
    assert event.extra == {
        "project": "sample",
        "old_status": "active",
        "reason": "moved to sample2",
    }
    page = simple_json(client)
    assert page["project-status"] == {"status": "archived", "reason": "moved to sample2"}
    assert page["meta"]["api-version"] == "1.4"
    assert [f["filename"] for f in page["files"]] == [scene.file.filename]
    html = client.get("/simple/sample/").content.decode()
    assert '<meta name="pypi:project-status" content="archived">' in html
    assert '<meta name="pypi:project-status-reason" content="moved to sample2">' in html
    assert client.get("/" + scene.file.path).status_code == 200
    assert "/simple/sample/" in client.get("/simple/").content.decode()
    # The Owner is told.
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "archived" in mail.outbox[0].subject

    refused = post_upload(client, upload_form(version="2.0"))
    assert refused.status_code == 400
    assert b"is archived: it takes no new uploads" in refused.content
    assert scene.project.releases.count() == 1

    page_html = client.get("/project/sample/").content.decode()
    assert "This project is archived" in page_html and "moved to sample2" in page_html
    assert f'href="/{scene.file.path}"' in page_html  # archived files stay downloadable

    lifecycle.unarchive_project(scene.owner_actor(), scene.project)
    assert "project-status" not in simple_json(client)
    assert post_upload(client, upload_form(version="2.0")).status_code == 200
    assert _status_tags() == ["project:status:archive", "project:status:unarchive"]


def test_only_an_owner_with_a_recent_password_archives(scene: Scene):
    maintainer = scene.stranger
    Role.objects.create(project=scene.project, user=maintainer, role_name=Role.Name.MAINTAINER)
    for actor in (Actor.of(maintainer), Actor.of(scene.staff), Actor(), Actor.operator()):
        with pytest.raises(NotPermitted):
            lifecycle.archive_project(actor, scene.project)
    stale = Actor(user=scene.owner, session=True, reauthenticated_at=None)
    with pytest.raises(NotPermitted, match="Confirm your password"):
        lifecycle.archive_project(stale, scene.project)
    assert Project.objects.get().status == "active"
    assert _status_tags() == []


def test_quarantine_hides_the_project_and_its_files_but_keeps_them(client, scene: Scene):
    mail.outbox.clear()
    for actor in (scene.owner_actor(), Actor.of(scene.stranger), Actor()):
        with pytest.raises(NotPermitted):
            lifecycle.quarantine_project(actor, scene.project, "malware")
    with pytest.raises(PackageError, match="Give a reason"):
        lifecycle.quarantine_project(scene.staff_actor(), scene.project, "  ", proof=scene.code())
    assert _status_tags() == []

    lifecycle.quarantine_project(
        scene.staff_actor(), scene.project, 'steals <tokens> & "keys"', proof=scene.code()
    )
    assert _status_tags() == ["project:status:quarantine"]
    # Gone from the listing, no file offered, no download, no JSON API document.
    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    assert "sample" not in client.get("/simple/").content.decode()
    listing = client.get("/simple/", HTTP_ACCEPT=JSON).json()["projects"]
    assert "sample" not in [p["name"] for p in listing]
    page = simple_json(client)
    assert page["files"] == [] and page["versions"] == []
    assert page["project-status"] == {"status": "quarantined", "reason": 'steals <tokens> & "keys"'}
    html = client.get("/simple/sample/").content.decode()
    assert scene.file.filename not in html
    assert (
        '<meta name="pypi:project-status-reason" '
        'content="steals &lt;tokens&gt; &amp; &quot;keys&quot;">' in html
    )
    assert client.get("/" + scene.file.path).status_code == 404
    assert client.get("/" + scene.file.path + ".metadata").status_code == 404
    assert client.get("/pypi/sample/json").status_code == 404
    # The page says why; the files are kept.
    project_page = client.get("/project/sample/").content.decode()
    assert "This project is quarantined" in project_page
    assert "steals &lt;tokens&gt;" in project_page
    assert "pip install" not in project_page
    assert f'href="/{scene.file.path}"' not in project_page  # no link to a file not offered
    assert get_storage().exists(scene.file.path)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["alice@example.org"], "[Strongroom] sample is now quarantined")
    ]
    refused = post_upload(client, upload_form(version="2.0"))
    assert refused.status_code == 400 and b"is quarantined" in refused.content
    with pytest.raises(PackageError, match="already quarantined"):
        lifecycle.quarantine_project(
            scene.staff_actor(), scene.project, "again", proof=scene.code()
        )

    lifecycle.release_project(scene.staff_actor(), scene.project, proof=scene.code())
    assert _status_tags() == ["project:status:quarantine", "project:status:release"]
    assert [f["filename"] for f in simple_json(client)["files"]] == [scene.file.filename]
    assert client.get("/" + scene.file.path).status_code == 200
    assert root.wait_for_render()
    assert "sample" in client.get("/simple/").content.decode()


def test_the_operator_cli_may_quarantine(scene: Scene):
    lifecycle.quarantine_project(Actor.operator(), scene.project, "malware")
    assert Project.objects.get().status == "quarantined"


def test_deprecated_behaves_as_active_with_a_marker(client, scene: Scene):
    with pytest.raises(NotPermitted):
        lifecycle.deprecate_project(scene.owner_actor(), scene.project, "use other")
    with pytest.raises(PackageError):
        lifecycle.deprecate_project(scene.staff_actor(), scene.project, "", proof=scene.code())
    lifecycle.deprecate_project(
        scene.staff_actor(), scene.project, "use sample2", proof=scene.code()
    )
    page = simple_json(client)
    assert page["project-status"] == {"status": "deprecated", "reason": "use sample2"}
    assert len(page["files"]) == 1
    assert post_upload(client, upload_form(version="2.0")).status_code == 200
    assert "This project is deprecated" in client.get("/project/sample/").content.decode()
    lifecycle.undeprecate_project(scene.staff_actor(), scene.project, proof=scene.code())
    assert "project-status" not in simple_json(client)
    assert _status_tags() == ["project:status:deprecate", "project:status:undeprecate"]


def test_status_changes_refresh_the_pages_rendered_at_write_time(client, scene: Scene):
    from strongroom.index.models import SimplePage

    first = client.get("/simple/sample/", HTTP_ACCEPT=JSON)
    etag = first["ETag"]
    lifecycle.archive_project(scene.owner_actor(), scene.project)
    stored = SimplePage.objects.get(project=scene.project)
    assert stored.serial == Project.objects.get().last_serial
    assert b'"project-status": {"status": "archived"}' in bytes(stored.json)
    again = client.get("/simple/sample/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] != etag


def test_status_transitions_that_make_no_sense_are_refused(scene: Scene):
    with pytest.raises(PackageError, match="not archived"):
        lifecycle.unarchive_project(scene.owner_actor(), scene.project)
    with pytest.raises(PackageError, match="not quarantined"):
        lifecycle.release_project(scene.staff_actor(), scene.project, proof=scene.code())
    lifecycle.quarantine_project(scene.staff_actor(), scene.project, "malware", proof=scene.code())
    with pytest.raises(PackageError, match="cannot be archived"):
        lifecycle.archive_project(scene.owner_actor(), scene.project)
    assert _status_tags() == ["project:status:quarantine"]


def test_owner_archives_through_the_settings_page(scene: Scene):
    from django.test import Client

    from tests.conftest import log_in

    owner = Client()
    log_in(owner, "alice")
    page = owner.get("/manage/project/sample/archive/")
    assert page.status_code == 200
    assert re.search(r'<label for="id_confirm">', page.content.decode())
    bad = owner.post("/manage/project/sample/archive/", {"confirm": "nope", "reason": "x"})
    assert bad.status_code == 400 and Project.objects.get().status == "active"
    done = owner.post("/manage/project/sample/archive/", {"confirm": "sample", "reason": "done"})
    assert done.status_code == 302
    assert Project.objects.get().status == "archived"
    assert owner.post("/manage/project/sample/archive/", {"confirm": "sample"}).status_code == 302
    assert Project.objects.get().status == "active"
    stranger = Client()
    log_in(stranger, "stan")
    assert stranger.get("/manage/project/sample/archive/").status_code == 404


def test_an_archive_committed_during_an_upload_refuses_it(client, scene: Scene, monkeypatch):
    """The upload read the project as active; an Owner's archive commits before the
    upload takes the serial row. The upload sees it there and leaves nothing behind."""
    from strongroom.packages import services

    real_bump = services._bump_index

    def archive_meanwhile() -> int:
        # What the other writer committed just before this one got the serial row.
        Project.objects.filter(pk=scene.project.pk).update(status="archived")
        return real_bump()

    monkeypatch.setattr(services, "_bump_index", archive_meanwhile)
    refused = post_upload(client, upload_form(version="2.0"))
    assert refused.status_code == 400 and b"is archived" in refused.content
    monkeypatch.undo()
    assert scene.project.releases.count() == 1
    assert not Event.objects.filter(tag="file:add", extra__version="2.0").exists()
    assert [f["filename"] for f in simple_json(client)["files"]] == [scene.file.filename]
    assert get_storage().exists(scene.file.path)
    assert [p for p in stored_files() if "2.0" in p] == []  # no staged copy left either
