"""Who sees what: own history, a project's Owners, staff; time zones; downloads; admin edits."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages.models import Role
from strongroom.packages.services import create_project
from tests.conftest import signed_in_with_second_factor
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TWINE_UA = (
    "twine/6.1.0 importlib_metadata/8.5.0 packaging/24.2 requests/2.32.3 "
    "requests-toolbelt/1.0.0 urllib3/2.2.3 tqdm/4.67.1 CPython/3.12.8"
)


@pytest.fixture
def people():
    owner = UserFactory(username="olivia")
    maintainer = UserFactory(username="max")
    stranger = UserFactory(username="sam")
    staff = UserFactory(username="root", staff=True)
    project = create_project(Actor.of(owner), "widget")
    Role.objects.create(project=project, user=maintainer, role_name=Role.Name.MAINTAINER)
    record_event(
        EventTag.FILE_ADD,
        actor=maintainer,
        project=project,
        ip="203.0.113.9",
        ua=TWINE_UA,
        extra={"project": "widget", "filename": "widget-1.0.tar.gz"},
    )
    record_event(EventTag.ACCOUNT_LOGIN_FAILURE, user=stranger, ip="198.51.100.4")
    return {"owner": owner, "maintainer": maintainer, "stranger": stranger, "staff": staff}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_project_history_is_for_owners_and_says_who_and_from_where(people):
    body = _client(people["owner"]).get("/project/widget/history/").content.decode()
    assert "widget-1.0.tar.gz" in body
    assert "max" in body
    # From where is max's to see (and staff's), not a co-Owner's: see test_privacy below.
    assert "203.0.113.9" not in body and "twine 6.1.0" not in body
    max_history = _client(people["maintainer"]).get("/manage/account/history/").content.decode()
    assert "203.0.113.9" in max_history and "twine 6.1.0 / CPython 3.12" in max_history
    for name in ["maintainer", "stranger"]:
        assert _client(people[name]).get("/project/widget/history/").status_code == 404
        assert _client(people[name]).get("/project/widget/history/export").status_code == 404
    assert Client().get("/project/widget/history/").status_code == 404


def test_staff_page_is_staff_only(people):
    for name in ["owner", "maintainer", "stranger"]:
        assert _client(people[name]).get("/manage/audit/").status_code == 404
        assert _client(people[name]).get("/manage/audit/export").status_code == 404
    assert Client().get("/manage/audit/").status_code == 404
    body = signed_in_with_second_factor(people["staff"]).get("/manage/audit/").content.decode()
    assert body.count('class="event"') == Event.objects.count()


def _tags(response) -> list[str]:
    return re.findall(r'data-tag="([^"]+)"', response.content.decode())


def test_staff_filters_by_user_project_tag_ip_and_dates(people):
    staff = signed_in_with_second_factor(people["staff"])
    assert _tags(staff.get("/manage/audit/", {"user": "SAM"})) == ["account:login:failure"]
    assert set(_tags(staff.get("/manage/audit/", {"project": "Widget"}))) == {
        "project:create",
        "file:add",
    }
    assert _tags(staff.get("/manage/audit/", {"tag": "file:add"})) == ["file:add"]
    assert _tags(staff.get("/manage/audit/", {"ip": "198.51.100.4"})) == ["account:login:failure"]
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert _tags(staff.get("/manage/audit/", {"since": tomorrow})) == []
    until = _tags(staff.get("/manage/audit/", {"until": tomorrow}))
    assert len(until) == Event.objects.count() >= 3
    # Invalid filters show nothing rather than everything.
    assert _tags(staff.get("/manage/audit/", {"ip": "not-an-ip"})) == []
    exported = staff.get("/manage/audit/export", {"tag": "file:add"})
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert [json.loads(line)["tag"] for line in lines] == ["file:add"]


def test_staff_page_paginates(people, settings):
    settings.AUDIT_PAGE_SIZE = 2
    staff = signed_in_with_second_factor(people["staff"])
    total = Event.objects.count()
    first = staff.get("/manage/audit/")
    assert len(_tags(first)) == 2 and 'rel="next"' in first.content.decode()
    last = staff.get("/manage/audit/", {"page": (total + 1) // 2})
    assert len(_tags(last)) == total - 2 * ((total - 1) // 2)
    assert 'rel="prev"' in last.content.decode() and 'rel="next"' not in last.content.decode()


def test_history_shows_times_in_the_users_time_zone(client, user):
    client.force_login(user)
    event = record_event(EventTag.ACCOUNT_LOGOUT, actor=user)
    utc = client.get("/manage/account/history/").content.decode()
    assert f'id="event-{event.pk}"' in utc
    assert event.created.strftime("%Y-%m-%d %H:%M:%S UTC") in utc
    response = client.post("/manage/account/time-zone/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    tokyo = client.get("/manage/account/history/").content.decode()
    shown = (event.created + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S JST")
    assert shown in tokyo and "Times are in Asia/Tokyo" in tokyo
    assert client.post("/manage/account/time-zone/", {"time_zone": "Mars/Base"}).status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"


def test_account_page_has_a_labelled_time_zone_select(client, user):
    client.force_login(user)
    body = client.get("/manage/account/").content.decode()
    assert '<label for="id_time_zone">Time zone</label>' in body
    assert '<option value="Europe/Paris">' in body


def test_own_history_shows_only_own_events_within_the_window(client, user, settings):
    other = UserFactory()
    mine = record_event(EventTag.ACCOUNT_LOGOUT, actor=user)
    old = record_event(EventTag.ACCOUNT_REAUTHENTICATE, actor=user)
    Event.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=91))
    record_event(EventTag.ACCOUNT_LOGOUT, actor=other)
    client.force_login(user)
    body = client.get("/manage/account/history/").content.decode()
    assert f'id="event-{mine.pk}"' in body and f'id="event-{old.pk}"' not in body
    assert body.count('class="event"') == 1
    export = client.get("/manage/account/history/export")
    assert export["Content-Disposition"].startswith('attachment; filename="alice-security-history')
    records = [json.loads(line) for line in b"".join(export.streaming_content).splitlines()]
    assert {r["id"] for r in records} == {mine.pk, old.pk}  # the download is not windowed
    assert all(r["user"]["username"] == "alice" for r in records)


def test_history_pages_need_no_script_and_no_inline_style(people):
    for path in ["/manage/audit/", "/project/widget/history/"]:
        if "audit" in path:
            client = signed_in_with_second_factor(people["staff"])
        else:
            client = _client(people["owner"])
        body = client.get(path).content.decode()
        assert "<script" not in body.split("<main")[1]
        assert " style=" not in body


def test_security_email_links_to_the_event(
    client, user, mailoutbox, django_capture_on_commit_callbacks
):
    client.post("/account/login/", {"login": user.username, "password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/manage/account/password/",
            {
                "current_password": PASSWORD,
                "new_password": "another-long-passphrase-77",
                "confirm_password": "another-long-passphrase-77",
            },
        )
    assert response.status_code == 302
    event = Event.objects.get(tag="account:password:change")
    (message,) = [m for m in mailoutbox if "password" in m.subject.lower()]
    assert f"/manage/account/history/#event-{event.pk}" in message.body


def test_the_admin_records_no_edit_and_old_admin_events_are_still_described(people, settings):
    """The stock admin is read-only (tests/web/test_staff_admin.py): an edit there is
    refused and records nothing; events it recorded before still read as they did."""
    staff = signed_in_with_second_factor(people["staff"])
    target = people["stranger"]
    events = Event.objects.count()
    url = f"/{settings.ADMIN_PATH}/records/accounts/user/{target.pk}/change/"
    assert staff.post(url, {"username": target.username, "is_active": ""}).status_code == 403
    role = Role.objects.get(user=people["maintainer"])
    url = f"/{settings.ADMIN_PATH}/records/packages/role/{role.pk}/delete/"
    assert staff.post(url, {"post": "yes"}).status_code == 403
    assert Role.objects.filter(pk=role.pk).exists()
    assert Event.objects.count() == events
    target.refresh_from_db()
    assert target.is_active
    # An older log's event of a retired tag keeps its description (and is no EventTag).
    assert "account:admin:change" not in {tag.value for tag in EventTag}
    old = Event(tag="account:admin:change", user=target)
    assert old.description == "Account changed by an administrator"
    assert EventTag.label_for("project:admin:change") == "Project changed by an administrator"
