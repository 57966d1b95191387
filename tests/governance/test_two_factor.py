"""Two-factor requirements, decided in mfa.policy and applied to uploads, pages, the admin
and removing a factor."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.mfa.models import TOTPDevice
from strongroom.mfa.policy import two_factor_required_for
from strongroom.packages import governance
from strongroom.tokens.services import create_token
from tests.distributions import basic_auth, make_wheel, upload_form
from tests.factories import UserFactory
from tests.governance.conftest import client_for, give_totp, make_project

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people():
    return UserFactory(username="olivia"), UserFactory(username="mateo")


@pytest.fixture
def project(people):
    return make_project("widget", people[0], people[1])


def _upload(client, user, name="widget", version="2.0"):
    _t, raw = create_token(
        Actor.of(user), name=f"ci-{name}-{version}", project_names=None, expires_at=None
    )
    form = upload_form(make_wheel(name, version), name=name, version=version)
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", raw))


def test_enabling_is_refused_while_collaborators_lack_two_factor(project, people, mailoutbox):
    owner, maintainer = people
    give_totp(owner)
    with pytest.raises(governance.GovernanceError, match="mateo"):
        governance.set_two_factor_required(Actor.of(owner), project, True)
    give_totp(maintainer)
    governance.set_two_factor_required(Actor.of(owner), project, True)
    project.refresh_from_db()
    assert project.two_factor_required
    assert Event.objects.filter(tag="project:two_factor_required:enable").exists()
    assert any("mateo@example.org" in m.to for m in mailoutbox)
    governance.set_two_factor_required(Actor.of(owner), project, False)
    assert Event.objects.filter(tag="project:two_factor_required:disable").exists()


def test_settings_page_names_who_lacks_two_factor(project, people):
    owner, _m = people
    client = client_for(owner)
    give_totp(owner)
    response = client.post("/manage/project/widget/settings/two-factor/", {"required": "on"})
    assert response.status_code == 302
    page = client.get("/manage/project/widget/settings/").content.decode()
    assert "These collaborators have no second factor yet: mateo" in page


def test_maintainer_without_two_factor_is_refused_uploads_with_a_link(
    client, project, people, settings
):
    # Links in messages come from the configured base URL, never from the request's Host.
    settings.BASE_URL = "https://index.example"
    _owner, maintainer = people
    project.marked_critical = True
    project.save()
    refused = _upload(client, maintainer)
    assert refused.status_code == 403
    assert "widget is a critical project" in refused.reason_phrase
    assert "https://index.example/help/two-factor/" in refused.reason_phrase
    assert Event.objects.filter(tag="account:upload:refused", user=maintainer).exists()
    give_totp(maintainer)
    assert _upload(client, maintainer, version="2.1").status_code == 200


def test_owner_without_two_factor_gets_the_setup_page(project, people):
    owner, _m = people
    project.two_factor_required = True
    project.save()
    client = client_for(owner)
    for url in ("/manage/project/widget/collaborators/", "/manage/project/widget/settings/"):
        response = client.get(url)
        assert response.status_code == 403
        body = response.content.decode()
        assert "require two-factor authentication" in body
        assert 'href="/account/manage/#security-heading"' in body or "/manage/account" in body
    give_totp(owner)
    assert client.get("/manage/project/widget/settings/").status_code == 200


def test_removing_the_last_factor_is_refused_on_a_project_that_requires_it(project, people):
    _o, maintainer = people
    assert two_factor_required_for(maintainer) is None
    project.two_factor_required = True
    project.save()
    assert "widget" in (two_factor_required_for(maintainer) or "")
    from strongroom.mfa.services import changes, common

    give_totp(maintainer)
    with pytest.raises(common.MfaError, match="widget"):
        from django.db import transaction

        with transaction.atomic():
            TOTPDevice.objects.filter(user=maintainer).delete()
            changes._refuse_removing_last_factor(maintainer)
    assert TOTPDevice.objects.filter(user=maintainer).exists()


def test_site_wide_uploaders_policy(client, settings, project, people):
    _o, maintainer = people
    settings.REQUIRE_2FA = "uploaders"
    assert _upload(client, maintainer).status_code == 403
    newcomer = UserFactory(username="newbie")
    assert "everyone who publishes" in two_factor_required_for(maintainer)
    assert two_factor_required_for(newcomer) is None
    refused = _upload(client, newcomer, name="brandnew")
    assert refused.status_code == 403 and "everyone who publishes" in refused.reason_phrase
    give_totp(newcomer)
    assert _upload(client, newcomer, name="brandnew", version="1.0").status_code == 200
    settings.REQUIRE_2FA = "all"
    assert "every account" in two_factor_required_for(UserFactory(username="reader"))


def test_leaving_needs_no_second_factor(project, people):
    _o, maintainer = people
    project.marked_critical = True
    project.save()
    client = client_for(maintainer)
    assert client.post("/manage/project/widget/leave/", {"confirm": "widget"}).status_code == 302
    assert Event.objects.filter(tag="project:role:leave", user=maintainer).exists()
