"""A new project may not look like an existing one, unless staff allow the name."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.packages.models import ConfusableNameAllowance, Project
from strongroom.packages.names import confusable_skeleton
from strongroom.packages.services import PackageError, allow_confusable_name
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

LOOK_ALIKES = ["holdouttool", "h0ldout-t00l", "ho1dout-too1", "holdout-tooI", "HOLD.OUT_TOOL"]


@pytest.fixture
def holdout_tool(client, user):
    assert post_upload(client, upload_form(name="holdout-tool")).status_code == 200


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_of_an_existing_project_is_refused(client, holdout_tool, name):
    response = post_upload(client, upload_form(name=name, version="1.0"))
    assert response.status_code == 400, response.reason_phrase
    assert f"'{name}' is too similar to the existing project 'holdout-tool'" in (
        response.reason_phrase
    )
    assert list(Project.objects.values_list("name", flat=True)) == ["holdout-tool"]


def test_another_user_is_refused_too_and_so_is_the_reverse_order(client, user):
    UserFactory(username="mallory")
    assert post_upload(client, upload_form(name="h0ldout-t00l")).status_code == 200
    response = post_upload(client, upload_form(name="holdout-tool"), username="mallory")
    assert response.status_code == 400 and "h0ldout-t00l" in response.reason_phrase


@pytest.mark.parametrize("name", ["holdout-tools", "holdout-tool2", "hold-tool", "holdout"])
def test_names_that_merely_share_letters_are_fine(client, holdout_tool, name):
    assert post_upload(client, upload_form(name=name)).status_code == 200


def test_the_same_project_under_another_spelling_is_not_a_look_alike(client, holdout_tool):
    response = post_upload(client, upload_form(name="Holdout_Tool", version="2.0"))
    assert response.status_code == 200, response.reason_phrase
    assert Project.objects.count() == 1


def test_unicode_look_alikes_share_the_skeleton():
    fullwidth = "".join(chr(ord(letter) + 0xFEE0) for letter in "holdout")
    assert confusable_skeleton(f"{fullwidth}-tool") == confusable_skeleton("holdout-tool")
    assert confusable_skeleton("hóldout-tool") == confusable_skeleton("h0ldout_too1")


def test_staff_allow_a_name_with_the_cli_and_it_is_audited(client, holdout_tool, monkeypatch):
    from strongroom.cli import main

    monkeypatch.setenv("STRONGROOM_DATA_DIR", "unused")
    staff = UserFactory(username="root", staff=True)
    assert main(["project", "allow-name", "holdout-tooI", "--by", "root"]) == 0
    event = Event.objects.get(tag=EventTag.PROJECT_NAME_ALLOW)
    assert event.actor == staff
    assert event.extra["name"] == "holdout-tooi" and event.extra["like"] == "holdout-tool"
    assert post_upload(client, upload_form(name="holdout-tooI")).status_code == 200
    # The allowance is for that name only.
    response = post_upload(client, upload_form(name="h0ldout-t00l"))
    assert response.status_code == 400


def test_only_staff_may_allow_and_only_a_name_that_needs_it(holdout_tool, user):
    with pytest.raises(PackageError, match="Only staff"):
        allow_confusable_name(Actor.of(user), "holdouttool")
    staff = UserFactory(username="root", staff=True)
    with pytest.raises(PackageError, match="needs no allowance"):
        allow_confusable_name(Actor.of(staff), "something-else")
    with pytest.raises(PackageError, match="already exists"):
        allow_confusable_name(Actor.of(staff), "Holdout.Tool")
    with pytest.raises(PackageError, match="not a valid project name"):
        allow_confusable_name(Actor.of(staff), "-holdout-tool")
    assert not ConfusableNameAllowance.objects.exists()
    staff.is_active = False
    staff.save()
    with pytest.raises(PackageError, match="Only staff"):
        allow_confusable_name(Actor.of(staff), "holdouttool")


def test_migration_computes_skeletons_of_existing_projects():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("packages", "0004_upload_filename_key")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("packages", "Project")
    old.objects.create(name="H0ldout-Tool", normalized_name="h0ldout-tool")
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Project.objects.get().skeleton == "holdouttool"
