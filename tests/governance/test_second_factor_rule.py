""" "Has a second factor" has one definition (mfa.services.queries): every page and rule
that asks (the account, the collaborators page, the projects list, the 2FA policy) agrees
on the edge cases: an unconfirmed authenticator is no factor, a key alone is one."""

from __future__ import annotations

from strongroom.mfa import secrets_box
from strongroom.mfa.models import SecurityKey, TOTPDevice
from strongroom.mfa.policy import two_factor_refusal
from strongroom.mfa.services.queries import has_second_factor
from strongroom.packages import governance, listing
from tests.factories import UserFactory

from .conftest import SECRET, client_for, give_totp, make_project


def test_every_path_agrees_on_who_has_a_second_factor(db) -> None:
    owner = UserFactory(username="olivia")
    unconfirmed = UserFactory(username="una")
    with_key = UserFactory(username="kai")
    with_app = UserFactory(username="tom")
    bare = UserFactory(username="bea")
    owner_client = client_for(owner)  # before the owner's factor: no second login step
    TOTPDevice.objects.create(user=unconfirmed, secret=secrets_box.seal(SECRET), confirmed=False)
    SecurityKey.objects.create(user=with_key, label="yubi", credential_id="cred", public_key="k")
    give_totp(with_app)
    give_totp(owner)
    project = make_project("widget", owner, unconfirmed, with_key, with_app, bare)
    project.two_factor_required = True
    project.save()

    lacking = {"una", "bea"}
    people = [owner, unconfirmed, with_key, with_app, bare]
    assert {u.username for u in people if not has_second_factor(u)} == lacking
    assert {u.username for u in governance.collaborators_without_two_factor(project)} == lacking
    assert {u.username for u in people if two_factor_refusal(u, project)} == lacking
    row = listing.projects_of(owner, listing.Filters()).get(pk=project.pk)
    assert row.lacking_2fa == len(lacking)

    page = owner_client.get("/manage/project/widget/collaborators/")
    assert page.status_code == 200
    cells = page.content.decode()
    for username in ("una", "bea", "kai", "tom"):
        assert username in cells
    assert cells.count(">Off<") == len(lacking)
