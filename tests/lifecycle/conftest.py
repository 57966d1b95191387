"""A published project (alice owns ``sample`` 1.0), staff with an authenticator app (each
staff action is confirmed with a fresh code from it), a stranger."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.packages.models import File, Project
from tests.conftest import signed_in_with_second_factor
from tests.console.conftest import fresh_code
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.governance.conftest import give_totp

JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class Scene:
    project: Project
    file: File
    owner: User
    staff: User
    stranger: User

    def owner_actor(self) -> Actor:
        return Actor.of(self.owner)

    def staff_actor(self) -> Actor:
        return Actor.of(self.staff)

    def staff_client(self) -> Client:
        return signed_in_with_second_factor(self.staff)

    def code(self) -> str:
        """A fresh code from the staff member's app, to confirm one staff action."""
        return fresh_code(self.staff)


@pytest.fixture
def scene(client, user) -> Scene:
    assert post_upload(client, upload_form()).status_code == 200
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    stranger = UserFactory(username="stan")
    project = Project.objects.get(normalized_name="sample")
    return Scene(project, File.objects.get(), user, staff, stranger)


def simple_json(client: Client, name: str = "sample") -> dict:  # type: ignore[type-arg]
    response = client.get(f"/simple/{name}/", HTTP_ACCEPT=JSON)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]
