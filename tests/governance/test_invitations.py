"""Invitations: by username or email, accepted or declined by the invitee only, valid 7 days,
refused when tampered, expired, revoked or used twice."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.packages import governance
from strongroom.packages.models import Role, RoleInvitation
from tests.factories import UserFactory
from tests.governance.conftest import client_for, give_totp, make_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner():
    return UserFactory(username="olivia")


@pytest.fixture
def project(owner):
    return make_project("widget", owner)


def _invite_by_web(owner, identifier, role="Maintainer"):
    client = client_for(owner)
    return client, client.post(
        "/manage/project/widget/collaborators/invite/", {"identifier": identifier, "role": role}
    )


def _link(mailoutbox, address):
    mail = next(m for m in mailoutbox if address in m.to and "invited" in m.subject)
    return re.search(r"(?:http://localhost:8000)?(/account/invitations/[^/\s]+/)", mail.body).group(
        1
    )


def test_invite_by_email_and_accept(project, owner, mailoutbox):
    bob = UserFactory(username="bob", email="bob@example.net")
    _client, response = _invite_by_web(owner, "BOB@example.net")
    assert response.status_code == 302
    link = _link(mailoutbox, "bob@example.net")
    html = next(m for m in mailoutbox if "bob@example.net" in m.to).alternatives[0][0]
    assert "Maintainer" in html and "widget" in html
    # The owners hear about it too.
    assert any("olivia@example.org" in m.to and "changed" in m.subject for m in mailoutbox)
    bob_client = client_for(bob)
    page = bob_client.get(link)
    assert (
        page.status_code == 200 and "olivia invited you to be a Maintainer" in page.content.decode()
    )
    assert bob_client.post(link, {"action": "accept"}).status_code == 302
    assert Role.objects.get(project=project, user=bob).role_name == "Maintainer"
    assert not RoleInvitation.objects.exists()
    tags = set(Event.objects.filter(project=project).values_list("tag", flat=True))
    assert {"project:role:invite", "project:role:accept"} <= tags
    # A second use of the same link is refused.
    again = bob_client.get(link)
    assert again.status_code == 400 and "already been accepted" in again.content.decode()


def test_invitee_declines(project, owner, mailoutbox):
    bob = UserFactory(username="bob")
    _invite_by_web(owner, "bob")
    link = _link(mailoutbox, "bob@example.org")
    client = client_for(bob)
    assert client.post(link, {"action": "decline"}).status_code == 302
    assert not Role.objects.filter(user=bob).exists()
    assert Event.objects.filter(tag="project:role:decline", user=bob).exists()
    assert client.post(link, {"action": "accept"}).status_code == 302
    assert not Role.objects.filter(user=bob).exists()


def test_only_the_invitee_can_use_the_link(project, owner, mailoutbox):
    UserFactory(username="bob")
    mallory = UserFactory(username="mallory")
    _invite_by_web(owner, "bob")
    link = _link(mailoutbox, "bob@example.org")
    client = client_for(mallory)
    assert "for another account" in client.get(link).content.decode()
    client.post(link, {"action": "accept"})
    assert not Role.objects.filter(user=mallory).exists()


def test_tampered_link_is_refused(project, owner, mailoutbox):
    bob = UserFactory(username="bob")
    _invite_by_web(owner, "bob")
    link = _link(mailoutbox, "bob@example.org")
    token = link.split("/")[-2]
    forged = signing.dumps({"i": RoleInvitation.objects.get().pk, "n": "guess"}, salt="other")
    client = client_for(bob)
    for bad in (token[:-2] + "xx", forged, "nonsense"):
        response = client.post(f"/account/invitations/{bad}/", {"action": "accept"})
        assert response.status_code == 302
        assert "not valid" in client.get(f"/account/invitations/{bad}/").content.decode()
    assert not Role.objects.filter(user=bob).exists()


def test_expired_invitation_is_refused(project, owner, mailoutbox):
    bob = UserFactory(username="bob")
    _invite_by_web(owner, "bob")
    link = _link(mailoutbox, "bob@example.org")
    later = governance.timezone.now() + timedelta(days=7, minutes=1)
    client = client_for(bob)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        body = client.get(link).content.decode()
    assert "expired" in body
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        client.post(link, {"action": "accept"})
    assert not Role.objects.filter(user=bob).exists()


def test_revoked_invitation_cannot_be_accepted(project, owner, mailoutbox):
    bob = UserFactory(username="bob")
    owner_client, _r = _invite_by_web(owner, "bob")
    link = _link(mailoutbox, "bob@example.org")
    invitation = RoleInvitation.objects.get()
    owner_client.post(
        "/manage/project/widget/invitations/revoke/", {"invitation_id": invitation.pk}
    )
    assert Event.objects.filter(tag="project:role:revoke_invite").exists()
    client = client_for(bob)
    client.post(link, {"action": "accept"})
    assert not Role.objects.filter(user=bob).exists()


def test_invitee_needs_a_verified_email(project, owner):
    UserFactory(username="bob", email__verified=False)
    _client, response = _invite_by_web(owner, "bob")
    assert response.status_code == 400
    assert "must verify their email" in response.content.decode()
    # Unverified addresses do not find accounts either.
    UserFactory(username="carol", email="carol@example.net", email__verified=False)
    _client, response = _invite_by_web(owner, "carol@example.net")
    assert "No account has" in response.content.decode()


def test_invitee_needs_two_factor_when_the_project_requires_it(project, owner, mailoutbox):
    bob = UserFactory(username="bob")
    give_totp(owner)
    project.two_factor_required = True
    project.save()
    client = client_for(bob)
    governance.invite(Actor.of(owner), project, "bob", "Maintainer")
    link = _link(mailoutbox, "bob@example.org")
    assert "Set up two-factor authentication" in client.get(link).content.decode()
    client.post(link, {"action": "accept"})
    assert not Role.objects.filter(user=bob).exists()
    give_totp(bob)
    client.post(link, {"action": "accept"})
    assert Role.objects.filter(user=bob, project=project).exists()


def test_pending_invitations_are_listed_for_the_invitee(project, owner):
    bob = UserFactory(username="bob")
    governance.invite(Actor.of(owner), project, "bob", "Owner")
    body = client_for(bob).get("/account/invitations/").content.decode()
    assert "Owner of widget" in body


def test_duplicate_and_existing_collaborator_invitations_are_refused(project, owner):
    UserFactory(username="bob")
    governance.invite(Actor.of(owner), project, "bob", "Maintainer")
    with pytest.raises(governance.GovernanceError, match="pending invitation"):
        governance.invite(Actor.of(owner), project, "bob", "Maintainer")
    with pytest.raises(governance.GovernanceError, match="already a collaborator"):
        governance.invite(Actor.of(owner), project, "olivia", "Owner")
