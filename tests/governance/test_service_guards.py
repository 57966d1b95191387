"""Every state-changing service checks who acts, itself (issue 21, item 12).

These call the services directly, as the CLI, the admin or a future console would, with
an actor who lacks the right, and expect the refusal with nothing changed and nothing
recorded. The pages' own checks are not in the way here: the services alone must hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.accounts.models import User
from strongroom.accounts.services import SESSION_AUTH_AT_KEY
from strongroom.console import services as console
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages import critical, governance, permissions, services
from strongroom.packages.models import File, Project, Release, Role, RoleInvitation
from strongroom.tokens.models import ApiToken
from strongroom.tokens.services import TokenError, create_token, revoke_token
from strongroom.upload.auth import Uploader
from strongroom.upload.errors import UploadError
from strongroom.upload.services import check_permission
from strongroom.web.actor import actor_from
from tests.factories import UserFactory

from .conftest import Cast, give_totp


def _release(project: Project, version: str = "1.0", yanked: bool = False) -> Release:
    return Release.objects.create(
        project=project,
        version=version,
        canonical_version=version,
        metadata_version="2.1",
        yanked=yanked,
    )


def _file(release: Release, owner: User) -> File:
    name = f"widget-{release.version}-py3-none-any.whl"
    return File.objects.create(
        release=release,
        project=release.project,
        filename=name,
        packagetype="bdist_wheel",
        python_version="py3",
        size=1,
        path=f"files/{name}",
        sha256_digest=release.version.ljust(64, "0"),
        blake2_256_digest="0" * 64,
        md5_digest="0" * 32,
        uploader=owner,
    )


# Each action: (perform with an actor, whether it changed anything).
Action = tuple[Callable[[Actor, Cast], Any], Callable[[Cast], bool]]


def _yanked(cast: Cast) -> bool:
    return Release.objects.filter(project=cast.project, version="1.0", yanked=True).exists()


PROJECT_ACTIONS: dict[str, Action] = {
    "yank": (
        lambda a, c: services.yank_release(a, Release.objects.get(version="1.0"), "bad"),
        _yanked,
    ),
    "unyank": (
        lambda a, c: services.unyank_release(a, Release.objects.get(version="0.9")),
        lambda c: not Release.objects.get(version="0.9").yanked,
    ),
    "remove_file": (
        lambda a, c: services.remove_file(a, File.objects.get()),
        lambda c: not File.objects.exists(),
    ),
    "remove_release": (
        lambda a, c: services.remove_release(a, Release.objects.get(version="1.0")),
        lambda c: not Release.objects.filter(version="1.0").exists(),
    ),
    "remove_project": (
        lambda a, c: services.remove_project(a, c.project),
        lambda c: not Project.objects.filter(pk=c.project.pk).exists(),
    ),
    "invite": (
        lambda a, c: governance.invite(a, c.project, "stan", "Maintainer"),
        lambda c: RoleInvitation.objects.filter(invitee=c.stranger).exists(),
    ),
    "revoke_invitation": (
        lambda a, c: governance.revoke_invitation(
            a, c.project, RoleInvitation.objects.get(invitee=c.invitee).pk
        ),
        lambda c: not RoleInvitation.objects.filter(invitee=c.invitee).exists(),
    ),
    "promote": (
        lambda a, c: governance.change_role(
            a, c.project, Role.objects.get(user=c.maintainer).pk, "Owner"
        ),
        lambda c: Role.objects.filter(user=c.maintainer, role_name="Owner").exists(),
    ),
    "remove_collaborator": (
        lambda a, c: governance.remove_collaborator(
            a, c.project, Role.objects.get(user=c.maintainer).pk
        ),
        lambda c: not Role.objects.filter(user=c.maintainer).exists(),
    ),
    "require_two_factor": (
        lambda a, c: governance.set_two_factor_required(a, c.project, True),
        lambda c: Project.objects.get(pk=c.project.pk).two_factor_required,
    ),
}


@pytest.fixture
def released(cast: Cast) -> Cast:
    _file(_release(cast.project), cast.owner)
    _release(cast.project, "0.9", yanked=True)
    give_totp(cast.maintainer)  # so "require 2FA" would otherwise succeed
    give_totp(cast.owner)
    return cast


def _refused_actors(cast: Cast) -> dict[str, Actor]:
    ghost = User(pk=cast.owner.pk, username=cast.owner.username, is_active=False)
    return {
        "maintainer": Actor.of(cast.maintainer),
        "stranger": Actor.of(cast.stranger),
        "invitee": Actor.of(cast.invitee),
        "staff": Actor.of(cast.staff),  # staff is no Owner: projects are their Owners'
        "anonymous": Actor(ip="192.0.2.1"),
        "the system": Actor.operator(),
        "deactivated owner": Actor.of(ghost),
        "unsaved look-alike": Actor.of(User(username=cast.owner.username)),
    }


@pytest.mark.parametrize("action", sorted(PROJECT_ACTIONS))
def test_project_services_refuse_anyone_but_an_owner(released: Cast, action: str) -> None:
    perform, changed = PROJECT_ACTIONS[action]
    events = Event.objects.count()
    for who, actor in _refused_actors(released).items():
        with pytest.raises(NotPermitted):
            perform(actor, released)
        assert not changed(released), f"{who} could {action}"
    assert Event.objects.count() == events


@pytest.mark.parametrize("action", sorted(PROJECT_ACTIONS))
def test_project_services_let_the_owner_act(released: Cast, action: str) -> None:
    perform, changed = PROJECT_ACTIONS[action]
    perform(Actor.of(released.owner), released)
    assert changed(released)


def test_an_owner_demoted_after_the_page_loaded_is_refused_by_the_service(cast: Cast) -> None:
    """The page checked the role when it rendered; the role went; the POST's service call
    sees the current role, not the page's."""
    release = _release(cast.project)
    owner = Actor.of(cast.owner)
    assert permissions.require_role(owner, cast.project) == "Owner"
    Role.objects.filter(user=cast.owner).update(role_name="Maintainer")
    with pytest.raises(NotPermitted, match="Only an Owner"):
        services.yank_release(owner, release, "bad")
    assert not Release.objects.get(pk=release.pk).yanked


def test_an_owner_deactivated_after_the_actor_was_built_is_refused(cast: Cast) -> None:
    release = _release(cast.project)
    owner = Actor.of(cast.owner)  # holds the User as loaded: still says active
    User.objects.filter(pk=cast.owner.pk).update(is_active=False)
    with pytest.raises(NotPermitted):
        services.yank_release(owner, release, "bad")
    assert not Release.objects.get(pk=release.pk).yanked


def test_an_owner_without_the_required_second_factor_is_refused(cast: Cast) -> None:
    release = _release(cast.project)
    cast.project.marked_critical = True
    cast.project.save()
    with pytest.raises(NotPermitted) as refused:
        services.remove_release(Actor.of(cast.owner), release)
    assert refused.value.two_factor and "critical" in str(refused.value)
    assert Release.objects.filter(pk=release.pk).exists()


def test_staff_services_refuse_non_staff(cast: Cast) -> None:
    for actor in (Actor.of(cast.owner), Actor(), Actor.of(cast.maintainer)):
        with pytest.raises(NotPermitted):
            critical.mark_critical(actor, cast.project)
        with pytest.raises(NotPermitted):  # the console's, before any code is looked at
            console.set_upload_limit(actor, cast.project, 1, code="000000")
        with pytest.raises(NotPermitted):
            console.set_total_size_limit(actor, cast.project, 1, code="000000")
    project = Project.objects.get(pk=cast.project.pk)
    assert not project.marked_critical
    assert project.upload_limit is None and project.total_size_limit is None
    critical.mark_critical(Actor.of(cast.staff), cast.project)
    assert Project.objects.get(pk=cast.project.pk).marked_critical
    with pytest.raises(NotPermitted):
        critical.unmark_critical(Actor.of(cast.owner), cast.project)
    critical.unmark_critical(Actor.operator(), cast.project)  # the operator's CLI
    assert not Project.objects.get(pk=cast.project.pk).marked_critical


def test_a_project_is_created_only_by_a_signed_in_account(db) -> None:
    with pytest.raises(NotPermitted):
        services.create_project(Actor(ip="192.0.2.1"), "orphan")
    with pytest.raises(NotPermitted):
        services.create_project(Actor.of(UserFactory(is_active=False)), "orphan")
    assert not Project.objects.filter(normalized_name="orphan").exists()


def test_token_services_check_the_actor(cast: Cast) -> None:
    with pytest.raises(NotPermitted):
        create_token(Actor(), name="ci", project_names=None, expires_at=None)
    stale = Actor(
        user=cast.owner,
        session=True,
        reauthenticated_at=time.time() - 3600,
    )
    with pytest.raises(TokenError, match="Confirm your password"):
        create_token(stale, name="ci", project_names=None, expires_at=None)
    never = Actor(user=cast.owner, session=True, reauthenticated_at=None)
    with pytest.raises(TokenError, match="Confirm your password"):
        create_token(never, name="ci", project_names=None, expires_at=None)
    with pytest.raises(TokenError, match="only scope a token to projects you can upload"):
        create_token(Actor.of(cast.stranger), name="x", project_names=["widget"], expires_at=None)
    token, _raw = create_token(Actor.of(cast.owner), name="ci", project_names=None, expires_at=None)
    for actor in (Actor.of(cast.stranger), Actor.of(cast.maintainer)):
        with pytest.raises(TokenError):
            revoke_token(actor, str(token.pk))
    with pytest.raises(NotPermitted):
        revoke_token(Actor(), str(token.pk))
    assert ApiToken.objects.filter(pk=token.pk).exists()
    fresh = Actor(user=cast.owner, session=True, reauthenticated_at=time.time())
    revoke_token(fresh, str(token.pk))
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_the_upload_service_asks_the_one_guard(cast: Cast) -> None:
    """accept_upload's permission step: a stranger, a deactivated collaborator, and a
    maintainer of a project that requires a second factor they lack are refused."""
    inactive = UserFactory(is_active=False)
    Role.objects.create(project=cast.project, user=inactive, role_name="Owner")
    for user in (cast.stranger, inactive):
        with pytest.raises(UploadError) as refused:
            check_permission(Uploader(actor=Actor.of(user)), cast.project, "widget")
        assert refused.value.status == 403 and "isn't allowed" in refused.value.message
    check_permission(Uploader(actor=Actor.of(cast.maintainer)), cast.project, "widget")
    cast.project.two_factor_required = True
    cast.project.save()
    with pytest.raises(UploadError, match="no second factor"):
        check_permission(Uploader(actor=Actor.of(cast.maintainer)), cast.project, "widget")


def test_record_event_takes_who_and_where_from_the_actor(cast: Cast) -> None:
    actor = Actor(user=cast.owner, ip="2001:db8::1", user_agent="twine/6.0")
    event = record_event(EventTag.PROJECT_ROLE_LEAVE, actor=actor, project=cast.project)
    event.refresh_from_db()
    assert (event.actor, event.user, event.ip, event.user_agent) == (
        cast.owner,
        cast.owner,
        "2001:db8::1",
        "twine/6.0",
    )
    forged = record_event(EventTag.PROJECT_ROLE_LEAVE, actor=Actor(ip="not an address"))
    assert forged.ip is None and forged.actor is None


def test_the_web_actor_is_the_session_user_with_its_reauthentication_time(cast: Cast) -> None:
    request = RequestFactory().post(
        "/", REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="Mozilla/5.0", HTTP_X_FORWARDED_FOR="6.6.6.6"
    )
    request.user = cast.owner
    request.session = {SESSION_AUTH_AT_KEY: 1000.0}  # type: ignore[assignment]
    actor = actor_from(request)
    assert actor.user == cast.owner and actor.session
    assert actor.ip == "192.0.2.9"  # no proxy is trusted by default: the header is ignored
    assert actor.reauthenticated_at == 1000.0 and actor.needs_reauthentication()
    # The upload API authenticates its own way: no session, so no re-authentication rule.
    api = actor_from(request, cast.maintainer)
    assert api.user == cast.maintainer and not api.session and not api.needs_reauthentication()


def test_a_web_actor_with_the_lazy_session_user_passes_the_guards(cast: Cast) -> None:
    """Django hands views ``request.user`` as a lazy object: the guards accept it."""
    request = RequestFactory().post("/")
    request.user = SimpleLazyObject(lambda: cast.owner)  # type: ignore[assignment]
    request.session = {SESSION_AUTH_AT_KEY: time.time()}  # type: ignore[assignment]
    release = _release(cast.project)
    services.yank_release(actor_from(request), release, "bad")
    assert Release.objects.get(pk=release.pk).yanked
