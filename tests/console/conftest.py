"""Personas for the console: a staff member with an authenticator app (signed in with a
second factor), a staff member without one, a normal user and their project."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.test import Client

from strongroom.accounts.models import User
from strongroom.mfa import totp
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import Project
from tests.conftest import signed_in_with_second_factor
from tests.factories import UserFactory
from tests.governance.conftest import SECRET, client_for, give_totp, make_project


def fresh_code(staff: User) -> str:
    """A code the staff member's app shows now, usable again (each test action needs its
    own time step: forget the last one used instead of waiting 30 seconds)."""
    TOTPDevice.objects.filter(user=staff).update(last_used_step=None)
    return totp.code_at_step(SECRET, totp.time_step(time.time()))


@dataclass
class Console:
    staff: User
    client: Client
    target: User
    project: Project

    def code(self) -> str:
        return fresh_code(self.staff)


@pytest.fixture
def console(db) -> Console:
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    target = UserFactory(username="tara")
    project = make_project("widget", target)
    return Console(staff, signed_in_with_second_factor(staff), target, project)


@pytest.fixture
def staff_without_factor(db) -> Client:
    return client_for(UserFactory(username="newstaff", staff=True))


@pytest.fixture
def normal_user(db) -> Client:
    return client_for(UserFactory(username="norma"))
