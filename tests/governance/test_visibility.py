"""Owners make a project private or public: settings page (re-authenticated), audit event,
email to the other Owners; everyone else is refused; unknown values are a clear error."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.packages.models import Project, Role
from strongroom.packages.services import PackageError
from strongroom.packages.visibility import Reader, can_read, readable_projects
from strongroom.packages.visibility_services import set_visibility
from tests.conftest import make_auth_stale
from tests.governance.conftest import Cast, client_for

pytestmark = pytest.mark.django_db(transaction=True)


def _url(cast: Cast) -> str:
    return f"/manage/project/{cast.project.normalized_name}/settings/visibility/"


def _visibility(cast: Cast) -> str:
    return Project.objects.get(pk=cast.project.pk).visibility


def test_an_owner_makes_the_project_private_on_the_settings_page(cast: Cast, mailoutbox):
    second = cast.maintainer
    Role.objects.filter(user=second).update(role_name=Role.Name.OWNER)
    client = client_for(cast.owner)
    page = client.get(f"/manage/project/{cast.project.normalized_name}/settings/")
    assert b'name="visibility" value="private"' in page.content
    assert b'<label for="visibility-private">' in page.content
    response = client.post(_url(cast), {"visibility": "private"}, follow=True)
    assert b"is now private" in response.content
    assert _visibility(cast) == "private"
    event = Event.objects.get(tag="project:visibility:change")
    assert event.extra == {"project": "widget", "from": "public", "to": "private"}
    assert event.actor_id == cast.owner.pk
    told = [m for m in mailoutbox if "widget is now private" in m.subject]
    assert [m.to for m in told] == [[second.email]]  # the other Owner, not the actor
    assert "olivia made widget private." in told[0].body


def test_the_change_needs_a_recent_password(cast: Cast):
    client = client_for(cast.owner)
    make_auth_stale(client)
    response = client.post(_url(cast), {"visibility": "private"})
    assert response.status_code == 302 and "/account/reauthenticate/" in response["Location"]
    assert _visibility(cast) == "public"


@pytest.mark.parametrize("who", ["maintainer", "stranger", "invitee"])
def test_only_owners_change_visibility(cast: Cast, who: str):
    response = client_for(getattr(cast, who)).post(_url(cast), {"visibility": "private"})
    assert response.status_code == 404
    with pytest.raises(NotPermitted):
        set_visibility(Actor.of(getattr(cast, who)), cast.project, "private")
    assert (
        _visibility(cast) == "public"
        and not Event.objects.filter(tag="project:visibility:change").exists()
    )


@pytest.mark.parametrize("value", ["secret", "", "PRIVATE ", None, 3])
def test_an_unknown_visibility_is_a_clear_error_and_changes_nothing(cast: Cast, value):
    if value in ("secret", ""):
        response = client_for(cast.owner).post(_url(cast), {"visibility": value}, follow=True)
        assert b"Unknown visibility" in response.content and b"choose public or private" in (
            response.content
        )
        assert _visibility(cast) == "public"
    if value == "PRIVATE ":
        assert set_visibility(Actor.of(cast.owner), cast.project, value)  # spelling forgiven
        return
    with pytest.raises(PackageError, match="choose public or private"):
        set_visibility(Actor.of(cast.owner), cast.project, value)  # type: ignore[arg-type]
    assert _visibility(cast) == "public"


def test_setting_the_same_visibility_again_records_nothing(cast: Cast):
    assert not set_visibility(Actor.of(cast.owner), cast.project, "public")
    assert not Event.objects.filter(tag="project:visibility:change").exists()


def test_membership_decides_reading_a_private_project(cast: Cast):
    set_visibility(Actor.of(cast.owner), cast.project, "private")
    project = Project.objects.get(pk=cast.project.pk)
    assert can_read(Reader(user=cast.owner), project)
    assert can_read(Reader(user=cast.maintainer), project)
    assert not can_read(Reader(user=cast.stranger), project)
    assert not can_read(Reader(user=cast.invitee), project)  # invited is not a member yet
    assert not can_read(Reader(), project)
    assert list(readable_projects(cast.stranger)) == []
    assert list(readable_projects(cast.maintainer)) == [project]
    Role.objects.filter(user=cast.maintainer).delete()
    assert not can_read(Reader(user=cast.maintainer), project)


def test_an_authenticated_site_needs_a_reader_even_for_public_projects(cast: Cast, settings):
    settings.READ_ACCESS = "authenticated"
    assert not can_read(Reader(), cast.project)
    assert can_read(Reader(user=cast.stranger), cast.project)
    assert list(readable_projects(None)) == []
