"""The owners', users' and staff pages: re-authentication, second factor, emails, events."""

from __future__ import annotations

import pytest
from django.core import mail

from strongroom.events.models import Event
from strongroom.publishing.models import Issuer, Publisher, PublishingPolicy
from tests.conftest import make_auth_stale, signed_in_with_second_factor
from tests.console.conftest import fresh_code
from tests.factories import UserFactory
from tests.governance.conftest import give_totp
from tests.publishing.conftest import make_project
from tests.publishing.issuer import LocalIssuer

pytestmark = pytest.mark.django_db

PAGE = "/manage/project/sample/publishing/"


def add_form(issuer: Issuer, **fields: str) -> dict[str, str]:
    return {
        "action": "add",
        "issuer": str(issuer.pk),
        "repository": "octo/sample",
        "workflow": "release.yml",
        "environment": "pypi",
        **fields,
    }


@pytest.mark.django_db(transaction=True)
def test_an_owner_adds_a_publisher_and_every_owner_is_told(user, github, project):
    other = UserFactory(username="carol")
    make_project("unrelated", other)
    from strongroom.packages.models import Role

    Role.objects.create(project=project, user=other, role_name=Role.Name.OWNER)
    client = signed_in_with_second_factor(user)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert b'<label for="id_repository">' in page.content
    response = client.post(PAGE, add_form(github))
    assert response.status_code == 302
    publisher = Publisher.objects.get(project=project)
    assert publisher.summary().endswith("octo/sample, release.yml (pypi)")
    event = Event.objects.get(tag="project:publisher:add")
    assert event.actor == user and event.extra["repository"] == "octo/sample"
    notified = {m.to[0] for m in mail.outbox if "trusted publisher" in m.subject}
    assert notified == {"alice@example.org", "carol@example.org"}
    client.post(PAGE, {"action": "remove", "publisher": str(publisher.pk)})
    assert not Publisher.objects.exists()
    assert Event.objects.filter(tag="project:publisher:remove").exists()


def test_adding_a_publisher_needs_a_second_factor(signed_in, github, project):
    response = signed_in.post(PAGE, add_form(github), follow=True)
    assert "Set up two-factor authentication" in response.content.decode()
    assert not Publisher.objects.exists()


def test_adding_a_publisher_needs_a_recent_password(user, github, project):
    client = signed_in_with_second_factor(user)
    make_auth_stale(client)
    response = client.post(PAGE, add_form(github))
    assert response.status_code == 302 and "/reauthenticate" in response["Location"]
    assert not Publisher.objects.exists()


def test_strangers_get_404(github, project):
    stranger = UserFactory(username="mallory")
    client = signed_in_with_second_factor(stranger)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, add_form(github)).status_code == 404
    assert not Publisher.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repository": "nohash"}, "owner/name"),
        ({"workflow": ""}, "workflow file"),
        ({"repository": "x" * 301 + "/y"}, "at most"),
    ],
)
def test_bad_publisher_fields_are_explained(user, github, project, fields, message):
    client = signed_in_with_second_factor(user)
    response = client.post(PAGE, add_form(github, **fields), follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Publisher.objects.exists()


def test_requiring_trusted_publishing_needs_a_publisher(user, github, project):
    client = signed_in_with_second_factor(user)
    response = client.post(PAGE, {"action": "require", "required": "on"}, follow=True)
    assert "Add a trusted publisher first" in response.content.decode()
    client.post(PAGE, add_form(github))
    client.post(PAGE, {"action": "require", "required": "on"})
    assert PublishingPolicy.objects.get(project=project).require_trusted_publishing
    assert Event.objects.filter(tag="project:trusted_publishing_required:enable").exists()
    client.post(PAGE, {"action": "require", "required": "off"})
    assert not PublishingPolicy.objects.get(project=project).require_trusted_publishing
    assert Event.objects.filter(tag="project:trusted_publishing_required:disable").exists()


def test_a_user_adds_and_removes_a_pending_publisher(user, github):
    client = signed_in_with_second_factor(user)
    form = {**add_form(github), "project_name": "brand-new"}
    response = client.post("/manage/account/publishing/", form)
    assert response.status_code == 302
    pending = Publisher.objects.get()
    assert pending.is_pending and pending.pending_name == "brand-new"
    assert pending.pending_owner == user and pending.pending_expires is not None
    assert Event.objects.filter(tag="account:pending_publisher:add").exists()
    assert b"brand-new" in client.get("/manage/account/publishing/").content
    client.post("/manage/account/publishing/", {"action": "remove", "publisher": pending.pk})
    assert not Publisher.objects.exists()
    assert Event.objects.filter(tag="account:pending_publisher:remove").exists()


def test_a_pending_publisher_for_an_existing_project_is_refused(user, github, project):
    client = signed_in_with_second_factor(user)
    form = {**add_form(github), "project_name": "Sample"}
    response = client.post("/manage/account/publishing/", form, follow=True)
    assert "already exists" in response.content.decode()
    assert not Publisher.objects.exists()


def test_someone_elses_pending_name_is_refused(user, github):
    client = signed_in_with_second_factor(user)
    client.post("/manage/account/publishing/", {**add_form(github), "project_name": "taken"})
    bob = signed_in_with_second_factor(UserFactory(username="bob"))
    form = {**add_form(github), "project_name": "taken"}
    response = bob.post("/manage/account/publishing/", form, follow=True)
    assert "Someone else already has a pending publisher" in response.content.decode()
    assert Publisher.objects.count() == 1


def test_the_issuer_page_is_for_staff_with_a_second_factor(client, user, signed_in):
    assert signed_in.get("/manage/issuers/").status_code == 404
    staff = UserFactory(username="root", staff=True)
    from tests.conftest import log_in

    password_only = client
    log_in(password_only, "root")
    assert password_only.get("/manage/issuers/").status_code == 403
    give_totp(staff)
    verified = signed_in_with_second_factor(staff)
    page = verified.get("/manage/issuers/")
    assert page.status_code == 200
    assert b"https://token.actions.githubusercontent.com" in page.content  # a default issuer
    with LocalIssuer() as local:
        response = verified.post(
            "/manage/issuers/add",
            {"add-url": local.url, "add-kind": "forgejo", "add-code": fresh_code(staff)},
        )
        assert response.status_code == 302
    issuer = Issuer.objects.get(url=local.url)
    assert issuer.kind == "forgejo" and issuer.jwks["keys"]
    assert Event.objects.get(tag="publishing:issuer:add").actor == staff
    verified.post(f"/manage/issuers/{issuer.pk}/disable", {"issuer-code": fresh_code(staff)})
    assert not Issuer.objects.get(pk=issuer.pk).enabled
    assert Event.objects.filter(tag="publishing:issuer:disable").exists()
    verified.post(f"/manage/issuers/{issuer.pk}/enable", {"issuer-code": fresh_code(staff)})
    assert Issuer.objects.get(pk=issuer.pk).enabled
    assert Event.objects.filter(tag="publishing:issuer:enable").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.org", "must use https"),
        ("https://127.0.0.1:9/", "could not be used"),
        ("not a url", "not a valid issuer URL"),
    ],
)
def test_unusable_issuers_are_refused(url, message):
    staff = UserFactory(username="root", staff=True)
    give_totp(staff)
    client = signed_in_with_second_factor(staff)
    response = client.post(
        "/manage/issuers/add",
        {"add-url": url, "add-kind": "generic", "add-code": fresh_code(staff)},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Issuer.objects.filter(url=url).exists()


def test_the_help_page_lists_the_issuers(client, db):
    page = client.get("/help/trusted-publishing/").content.decode()
    assert "https://gitlab.com" in page and "/_/oidc/mint-token" in page
