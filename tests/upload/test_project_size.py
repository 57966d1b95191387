"""Issue 17, item 1: a project's files together stay under its total size limit
(STRONGROOM_PROJECT_SIZE_LIMIT, PyPI's 10 GiB by default), which staff raise per project
in the console."""

from __future__ import annotations

import pytest
from django.core import mail

from strongroom.events.models import Event
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.upload import services as upload_services
from tests.conftest import signed_in_with_second_factor
from tests.console.conftest import fresh_code
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.governance.conftest import give_totp
from tests.support import stored_files

pytestmark = pytest.mark.django_db


def test_the_site_default_is_pypis_ten_gib() -> None:
    from strongroom import settings as site

    assert site.PROJECT_SIZE_LIMIT == 10 * 1024**3


def _first_file(client) -> File:  # type: ignore[no-untyped-def]
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    return File.objects.get()


def _assert_only(first: File, stored: list[str]) -> None:
    """Nothing of the refused upload is left: no row, no used filename, no stored bytes."""
    assert list(File.objects.values_list("pk", flat=True)) == [first.pk]
    assert Release.objects.count() == 1
    assert list(UsedFilename.objects.values_list("filename", flat=True)) == [first.filename]
    assert stored_files() == stored


def test_an_upload_past_the_project_total_is_refused_naming_limit_and_size(
    client, user, settings
) -> None:
    first = _first_file(client)
    settings.PROJECT_SIZE_LIMIT = first.size + 100  # room for 100 bytes more
    stored = stored_files()
    response = post_upload(client, upload_form(version="2.0"))
    assert response.status_code == 400
    reason = response.reason_phrase
    assert "Project size too large. The limit for project 'sample' total size is" in reason
    assert f"({first.size + 100} bytes)" in reason  # the limit
    assert f"({first.size} bytes)" in reason  # what the project holds now
    assert "ask the index's staff to raise the limit" in response.content.decode()
    _assert_only(first, stored)


def test_a_new_project_whose_first_file_is_over_the_limit_is_refused(
    client, user, settings
) -> None:
    settings.PROJECT_SIZE_LIMIT = 100
    response = post_upload(client, upload_form())
    assert response.status_code == 400 and "Project size too large" in response.reason_phrase
    assert not Project.objects.exists() and not File.objects.exists()
    assert stored_files() == []


@pytest.mark.django_db(transaction=True)  # the first file published: its commit ran
def test_the_total_is_checked_again_under_the_lock(client, user, settings, monkeypatch) -> None:
    """A file committed by another upload after the first check is counted: the second
    check, once the serial row is locked, refuses what no longer fits."""
    first = _first_file(client)
    settings.PROJECT_SIZE_LIMIT = 10 * first.size
    validate_file = upload_services.validate_file

    def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        checked = validate_file(*args, **kwargs)  # after the first size check passed
        File.objects.filter(pk=first.pk).update(size=10 * first.size)  # the room is taken
        return checked

    monkeypatch.setattr(upload_services, "validate_file", meanwhile)
    stored = stored_files()
    response = post_upload(client, upload_form(version="2.0"))
    assert response.status_code == 400 and "Project size too large" in response.reason_phrase
    _assert_only(first, stored)


@pytest.mark.django_db(transaction=True)  # the Owners' email is sent on commit
def test_staff_raise_the_limit_in_the_console_and_the_upload_is_accepted(
    client, user, settings
) -> None:
    first = _first_file(client)
    settings.PROJECT_SIZE_LIMIT = first.size + 100
    assert post_upload(client, upload_form(version="2.0")).status_code == 400

    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    console = signed_in_with_second_factor(staff)
    page = console.get("/admin/projects/sample/").content.decode()
    assert "All files together, in GiB" in page and 'id="total-size"' in page
    mail.outbox.clear()
    response = console.post(
        "/admin/projects/sample/size-limit", {"size-limit_gib": "1", "size-code": fresh_code(staff)}
    )
    assert response.status_code == 302
    project = Project.objects.get()
    assert project.total_size_limit == 1024**3
    (event,) = Event.objects.filter(tag="admin:project:size_limit")
    assert event.actor_id == staff.pk and event.extra["staff"] == "sofia"
    assert event.extra["old"] is None and event.extra["new"] == 1024**3
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]  # the Owner is told
    assert "may now take 1.0\xa0GB" in mail.outbox[0].body  # filesizeformat

    assert post_upload(client, upload_form(version="2.0")).status_code == 200
    assert File.objects.count() == 2

    # Back to the site default: the next file no longer fits.
    response = console.post(
        "/admin/projects/sample/size-limit", {"size-limit_gib": "", "size-code": fresh_code(staff)}
    )
    assert response.status_code == 302
    assert Project.objects.get().total_size_limit is None
    assert post_upload(client, upload_form(version="3.0")).status_code == 400
