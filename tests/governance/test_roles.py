"""Changing roles, removing collaborators, leaving; the last Owner stays; transfer needs a
fresh password."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.packages import governance
from strongroom.packages.models import Role
from tests.conftest import make_auth_stale
from tests.factories import UserFactory
from tests.governance.conftest import client_for, make_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people():
    return UserFactory(username="olivia"), UserFactory(username="mateo")


@pytest.fixture
def project(people):
    return make_project("widget", people[0], people[1])


def test_last_owner_cannot_demote_themselves_or_leave(project, people):
    owner, _m = people
    mine = Role.objects.get(user=owner)
    with pytest.raises(governance.GovernanceError, match="at least one Owner"):
        governance.change_role(Actor.of(owner), project, mine.pk, "Maintainer")
    client = client_for(owner)
    response = client.post("/manage/project/widget/leave/", {"confirm": "widget"})
    assert response.status_code == 400 and "last Owner" in response.content.decode()
    assert Role.objects.filter(user=owner, role_name="Owner").exists()


def test_transfer_invite_new_owner_then_leave(project, people, mailoutbox):
    owner, maintainer = people
    client = client_for(owner)
    role = Role.objects.get(user=maintainer)
    client.post(
        "/manage/project/widget/collaborators/role/", {"role_id": role.pk, "role_name": "Owner"}
    )
    assert Role.objects.get(user=maintainer).role_name == "Owner"
    assert client.post("/manage/project/widget/leave/", {"confirm": "widget"}).status_code == 302
    assert list(Role.objects.values_list("user__username", "role_name")) == [("mateo", "Owner")]
    tags = list(Event.objects.filter(project=project).values_list("tag", flat=True))
    assert "project:role:change" in tags and "project:role:leave" in tags
    # The affected collaborator and the Owners were told.
    assert any("mateo@example.org" in m.to and "widget" in m.subject for m in mailoutbox)


def test_transfer_and_deletion_need_a_recent_password(project, people):
    owner, maintainer = people
    client = client_for(owner)
    make_auth_stale(client)
    role = Role.objects.get(user=maintainer)
    for url, data in [
        ("/manage/project/widget/collaborators/role/", {"role_id": role.pk, "role_name": "Owner"}),
        ("/manage/project/widget/collaborators/invite/", {"identifier": "x", "role": "Owner"}),
        ("/manage/project/widget/leave/", {"confirm": "widget"}),
        ("/manage/project/widget/delete/", {"confirm": "widget"}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 302 and "/account/reauthenticate/" in response["Location"]
    assert Role.objects.get(user=maintainer).role_name == "Maintainer"
    assert project.__class__.objects.filter(pk=project.pk).exists()


def test_owner_removes_a_collaborator(project, people, mailoutbox):
    owner, maintainer = people
    client = client_for(owner)
    role = Role.objects.get(user=maintainer)
    client.post("/manage/project/widget/collaborators/remove/", {"role_id": role.pk})
    assert not Role.objects.filter(user=maintainer).exists()
    event = Event.objects.get(tag="project:role:remove")
    assert event.user == maintainer and event.actor == owner
    assert any("mateo@example.org" in m.to for m in mailoutbox)


def test_owner_cannot_remove_themselves_only_leave(project, people):
    owner, _m = people
    mine = Role.objects.get(user=owner)
    with pytest.raises(governance.GovernanceError, match="leave the project"):
        governance.remove_collaborator(Actor.of(owner), project, mine.pk)


def test_collaborators_page_lists_roles_and_two_factor(project, people):
    owner, _m = people
    body = client_for(owner).get("/manage/project/widget/collaborators/").content.decode()
    assert "mateo" in body and "Maintainer" in body
    assert '<label for="id_identifier">Username or email address</label>' in body
    assert "<script" not in body and " style=" not in body
