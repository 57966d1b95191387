"""The permission matrix: Owner / Maintainer / invitee / stranger / staff x every project
action. Owners may do everything; Maintainers may upload and leave; nobody else may do
anything (staff act through the admin, which has its own test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor
from strongroom.packages.models import File, Project, Release, Role
from strongroom.tokens.models import ApiToken
from strongroom.tokens.services import create_token
from tests.distributions import basic_auth, make_wheel, upload_form
from tests.governance.conftest import Cast, client_for

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "maintainer", "invitee", "stranger", "staff"]


def _upload(cast: Cast, who: str, client: Client, version: str) -> int:
    user = getattr(cast, who)
    _t, raw = create_token(Actor.of(user), name=f"t-{version}", project_names=None, expires_at=None)
    form = upload_form(make_wheel("widget", version), name="widget", version=version)
    return client.post(
        "/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", raw)
    ).status_code


def _release(cast: Cast, version: str) -> Release:
    owner_client = client_for(cast.owner)
    assert _upload(cast, "owner", owner_client, version) == 200
    return Release.objects.get(project=cast.project, version=version)


def _scoped_token(cast: Cast) -> ApiToken:
    token, _raw = create_token(
        Actor.of(cast.maintainer), name="ci", project_names=["widget"], expires_at=None
    )
    return token


def upload(cast: Cast, who: str, client: Client) -> bool:
    return _upload(cast, who, client, "9.0") == 200


def yank(cast: Cast, who: str, client: Client) -> bool:
    _release(cast, "1.0")
    client.post("/manage/project/widget/release/1.0/yank/", {"reason": "", "confirm": "1.0"})
    return Release.objects.get(version="1.0").yanked


def delete_file(cast: Cast, who: str, client: Client) -> bool:
    _release(cast, "1.0")
    name = "widget-1.0-py3-none-any.whl"
    client.post(f"/manage/project/widget/file/{name}/delete/", {"confirm": name})
    return not File.objects.filter(filename=name).exists()


def delete_release(cast: Cast, who: str, client: Client) -> bool:
    _release(cast, "1.0")
    client.post("/manage/project/widget/release/1.0/delete/", {"confirm": "1.0"})
    return not Release.objects.filter(version="1.0").exists()


def delete_project(cast: Cast, who: str, client: Client) -> bool:
    client.post("/manage/project/widget/delete/", {"confirm": "widget"})
    return not Project.objects.filter(name="widget").exists()


def view_history(cast: Cast, who: str, client: Client) -> bool:
    return client.get("/project/widget/history/").status_code == 200


def view_collaborators(cast: Cast, who: str, client: Client) -> bool:
    return client.get("/manage/project/widget/collaborators/").status_code == 200


def invite(cast: Cast, who: str, client: Client) -> bool:
    client.post(
        "/manage/project/widget/collaborators/invite/",
        {"identifier": "stan", "role": "Maintainer"},
    )
    return cast.project.invitations.filter(invitee=cast.stranger).exists()


def change_role(cast: Cast, who: str, client: Client) -> bool:
    role = Role.objects.get(project=cast.project, user=cast.maintainer)
    client.post(
        "/manage/project/widget/collaborators/role/", {"role_id": role.pk, "role_name": "Owner"}
    )
    role.refresh_from_db()
    return role.role_name == "Owner"


def remove_collaborator(cast: Cast, who: str, client: Client) -> bool:
    target = cast.owner if who == "maintainer" else cast.maintainer
    role = Role.objects.get(project=cast.project, user=target)
    client.post("/manage/project/widget/collaborators/remove/", {"role_id": role.pk})
    return not Role.objects.filter(pk=role.pk).exists()


def revoke_invitation(cast: Cast, who: str, client: Client) -> bool:
    invitation = cast.project.invitations.get()
    client.post("/manage/project/widget/invitations/revoke/", {"invitation_id": invitation.pk})
    return not cast.project.invitations.exists()


def require_two_factor(cast: Cast, who: str, client: Client) -> bool:
    from tests.governance.conftest import give_totp

    give_totp(cast.owner)
    give_totp(cast.maintainer)
    client.post("/manage/project/widget/settings/two-factor/", {"required": "on"})
    cast.project.refresh_from_db()
    return cast.project.two_factor_required


def see_scoped_tokens(cast: Cast, who: str, client: Client) -> bool:
    _scoped_token(cast)
    page = client.get("/manage/project/widget/settings/")
    return page.status_code == 200 and "ci" in page.content.decode()


def revoke_scoped_token(cast: Cast, who: str, client: Client) -> bool:
    token = _scoped_token(cast)
    if who == "maintainer":  # a token's own user may always revoke it: use the Owner's
        token, _raw = create_token(
            Actor.of(cast.owner), name="owner-ci", project_names=["widget"], expires_at=None
        )
    client.post("/manage/account/tokens/revoke/", {"token_id": str(token.pk)})
    return not ApiToken.objects.filter(pk=token.pk).exists()


def leave(cast: Cast, who: str, client: Client) -> bool:
    user = getattr(cast, who)
    if who == "owner":  # the last Owner cannot leave: give the project a second Owner
        Role.objects.filter(project=cast.project, user=cast.maintainer).update(role_name="Owner")
    client.post("/manage/project/widget/leave/", {"confirm": "widget"})
    return not Role.objects.filter(project=cast.project, user=user).exists() and (
        who in {"owner", "maintainer"}
    )


ACTIONS: dict[str, tuple[Callable[[Cast, str, Client], bool], set[str]]] = {
    "upload": (upload, {"owner", "maintainer"}),
    "yank": (yank, {"owner"}),
    "delete_file": (delete_file, {"owner"}),
    "delete_release": (delete_release, {"owner"}),
    "delete_project": (delete_project, {"owner"}),
    "view_history": (view_history, {"owner"}),
    "manage_collaborators": (view_collaborators, {"owner"}),
    "invite": (invite, {"owner"}),
    "change_role": (change_role, {"owner"}),
    "remove_collaborator": (remove_collaborator, {"owner"}),
    "revoke_invitation": (revoke_invitation, {"owner"}),
    "require_two_factor": (require_two_factor, {"owner"}),
    "see_scoped_tokens": (see_scoped_tokens, {"owner"}),
    "revoke_scoped_token": (revoke_scoped_token, {"owner"}),
    "leave": (leave, {"owner", "maintainer"}),
}


@pytest.mark.parametrize("who", PERSONAS)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_permission_matrix(cast: Cast, who: str, action: str, mailoutbox: Any) -> None:
    perform, allowed = ACTIONS[action]
    client = client_for(getattr(cast, who))
    assert perform(cast, who, client) is (who in allowed), f"{who} {action}"
