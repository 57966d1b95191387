"""Issue 21, item 10: a person's IP address and user agent are shown to that person and to
staff only, on every history page and in every download."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages.governance import invite
from strongroom.packages.models import Role
from strongroom.packages.services import create_project
from strongroom.web.actor import actor_from
from tests.conftest import signed_in_with_second_factor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLIVIA_IP, OLIVIA_UA = "203.0.113.77", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
ATTACKER_IP = "198.51.100.66"


@pytest.fixture
def project(db):
    olivia = UserFactory(username="olivia")
    oscar = UserFactory(username="oscar")
    UserFactory(username="ines")
    project = create_project(Actor.of(olivia), "widget")
    Role.objects.create(project=project, user=oscar, role_name=Role.Name.OWNER)
    record_event(
        EventTag.FILE_ADD,
        actor=olivia,
        project=project,
        ip=OLIVIA_IP,
        ua=OLIVIA_UA,
        extra={"project": "widget", "filename": "widget-1.0.tar.gz"},
    )
    # Nobody signed in: an anonymous refused upload naming the project.
    record_event(
        EventTag.ACCOUNT_UPLOAD_REFUSED,
        project=project,
        ip=ATTACKER_IP,
        ua="curl/8.0",
        extra={"project": "widget", "reason": "no credentials"},
    )
    return project


def _client(username: str) -> Client:
    from strongroom.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def _export(client: Client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def test_a_co_owner_sees_the_event_but_not_the_other_owners_ip_or_browser(project):
    oscar = _client("oscar")
    body = oscar.get("/project/widget/history/").content.decode()
    assert "widget-1.0.tar.gz" in body and "olivia" in body
    for secret in [OLIVIA_IP, "Firefox", ATTACKER_IP, "curl"]:
        assert secret not in body, secret
    assert "not shown" in body
    records = _export(oscar, "/project/widget/history/export")
    assert {r["tag"] for r in records} >= {"file:add", "account:upload:refused"}
    for record in records:
        assert record["ip"] is None and record["user_agent"] is None and record["client"] is None
    assert OLIVIA_IP not in json.dumps(records) and "Firefox" not in json.dumps(records)


def test_the_person_sees_their_own_ip_and_browser_on_the_same_pages(project):
    olivia = _client("olivia")
    body = olivia.get("/project/widget/history/").content.decode()
    assert OLIVIA_IP in body and "Firefox 133" in body
    assert ATTACKER_IP not in body  # nobody's to see but staff's
    records = _export(olivia, "/project/widget/history/export")
    (mine,) = [r for r in records if r["tag"] == "file:add"]
    assert mine["ip"] == OLIVIA_IP and mine["user_agent"] == OLIVIA_UA
    (anonymous,) = [r for r in records if r["tag"] == "account:upload:refused"]
    assert anonymous["ip"] is None
    own = olivia.get("/manage/account/history/").content.decode()
    assert OLIVIA_IP in own


def test_staff_with_a_second_factor_see_everyones(project):
    staff = signed_in_with_second_factor(UserFactory(username="root", staff=True))
    body = staff.get("/manage/audit/", {"project": "widget"}).content.decode()
    assert OLIVIA_IP in body and ATTACKER_IP in body and "Firefox 133" in body
    records = _export(staff, "/manage/audit/export?project=widget")
    assert {r["ip"] for r in records} >= {OLIVIA_IP, ATTACKER_IP}


def test_an_invitee_does_not_see_the_inviters_ip_in_their_own_history(project, rf):
    from strongroom.accounts.models import User

    olivia = User.objects.get(username="olivia")
    request = rf.post("/", REMOTE_ADDR=OLIVIA_IP, HTTP_USER_AGENT=OLIVIA_UA)
    request.user = olivia
    invite(actor_from(request, olivia), project, "ines", "Maintainer")
    ines = _client("ines")
    body = ines.get("/manage/account/history/").content.decode()
    assert "Collaborator invited" in body
    assert OLIVIA_IP not in body and "Firefox" not in body
    records = _export(ines, "/manage/account/history/export")
    assert records and all(r["ip"] is None for r in records if r["actor"]["username"] == "olivia")


def test_failed_logins_against_my_account_show_me_where_they_came_from(client, user):
    record_event(EventTag.ACCOUNT_LOGIN_FAILURE, user=user, ip=ATTACKER_IP, ua="curl/8.0")
    client.force_login(user)
    body = client.get("/manage/account/history/").content.decode()
    assert ATTACKER_IP in body


def test_emails_carry_the_requesters_ip_and_browser_to_that_person_only(
    project, mailoutbox, django_capture_on_commit_callbacks
):
    """The same rule in mail: a co-Owner and the invitee are told, without olivia's IP."""
    from django.test import Client as BrowserClient

    olivia = BrowserClient(REMOTE_ADDR=OLIVIA_IP, HTTP_USER_AGENT=OLIVIA_UA)
    olivia.force_login(project.roles.get(user__username="olivia").user)
    with django_capture_on_commit_callbacks(execute=True):
        response = olivia.post(
            "/manage/project/widget/collaborators/invite/",
            {"identifier": "ines", "role": "Maintainer"},
        )
    assert response.status_code == 302, response.content.decode()[:1000]
    sent = {tuple(m.to): m for m in mailoutbox}
    assert ("ines@example.org",) in sent and ("oscar@example.org",) in sent
    for address in ["ines@example.org", "oscar@example.org"]:
        message = sent[(address,)]
        for part in [message.body, message.alternatives[0][0]]:
            assert OLIVIA_IP not in part and "Firefox" not in part, address
    own = sent[("olivia@example.org",)]
    assert OLIVIA_IP in own.body and "Firefox 133" in own.body
