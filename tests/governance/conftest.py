"""Personas around one project: an Owner, a Maintainer, an invitee, a stranger and staff."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from strongroom.accounts.models import User
from strongroom.mfa import secrets_box
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import Project, Role, RoleInvitation
from tests.factories import PASSWORD, UserFactory

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def give_totp(user: User) -> None:
    TOTPDevice.objects.create(user=user, secret=secrets_box.seal(SECRET), confirmed=True)


def make_project(name: str, owner: User, *maintainers: User) -> Project:
    project = Project.objects.create(name=name, normalized_name=name)
    Role.objects.create(project=project, user=owner, role_name=Role.Name.OWNER)
    for user in maintainers:
        Role.objects.create(project=project, user=user, role_name=Role.Name.MAINTAINER)
    return project


def client_for(user: User) -> Client:
    """A client signed in as ``user`` through the real login form. Give second factors
    after this (tests about the login step live in tests/mfa)."""
    client = Client()
    response = client.post("/account/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@dataclass
class Cast:
    project: Project
    owner: User
    maintainer: User
    invitee: User
    stranger: User
    staff: User


@pytest.fixture
def cast(db) -> Cast:
    owner = UserFactory(username="olivia")
    maintainer = UserFactory(username="mateo")
    invitee = UserFactory(username="ines")
    stranger = UserFactory(username="stan")
    staff = UserFactory(username="sofia", staff=True)
    project = make_project("widget", owner, maintainer)
    RoleInvitation.objects.create(
        project=project, invitee=invitee, inviter=owner, role_name="Maintainer", nonce="n"
    )
    return Cast(project, owner, maintainer, invitee, stranger, staff)


__all__ = ["PASSWORD", "Cast", "client_for", "give_totp", "make_project"]
