"""Issue 21, item 13: the admin writes nothing around the services, and staff pages need a
second factor passed in this session."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib import admin
from django.test import Client

from strongroom.accounts.models import SessionRecord, User
from strongroom.accounts.services import create_user
from strongroom.events.models import Event
from strongroom.mfa import secrets_box, totp
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import File, Project, Release, Role
from strongroom.web.admin_site import ServiceAdmin
from tests.conftest import log_in, signed_in_with_second_factor
from tests.distributions import post_upload, upload_form
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONGROOM_MODELS = [
    model for model in admin.site._registry if model.__module__.startswith("strongroom.")
]


@pytest.fixture
def staff(db) -> User:
    return UserFactory(username="root", staff=True)


@pytest.fixture
def published(client, user) -> File:
    """alice's sample 1.0 wheel, uploaded through the API."""
    assert post_upload(client, upload_form()).status_code == 200
    return File.objects.get()


def _admin_url(model: type, *parts: object) -> str:
    meta = model._meta
    tail = "".join(f"{part}/" for part in parts)
    return f"/admin/records/{meta.app_label}/{meta.model_name}/{tail}"


# --- read-only: no add, change or delete around the services ---------------------------------


@pytest.mark.parametrize("model", STRONGROOM_MODELS, ids=lambda m: m.__name__)
def test_every_admin_is_read_only_except_through_a_service(model, rf, staff):
    model_admin = admin.site._registry[model]
    request = rf.get("/admin/records/")
    request.user = staff  # a superuser: only the admin itself can say no
    assert isinstance(model_admin, ServiceAdmin)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)
    # The only edits left are the ones a service saves (and audits).
    editable = model_admin.has_change_permission(request)
    assert editable == bool(model_admin.service_fields)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request, None)
        assert not inline.has_delete_permission(request, None)


def test_deleting_a_release_in_the_admin_is_refused_and_simple_keeps_serving_it(
    client, published, staff
):
    release = published.release
    serial = Project.objects.get().last_serial
    events = Event.objects.count()
    root = signed_in_with_second_factor(staff)
    events_after_login = Event.objects.count()
    assert root.get(_admin_url(Release, release.pk, "change")).status_code == 200  # view only
    for model, obj in [(Release, release), (File, published), (Project, release.project)]:
        assert root.post(_admin_url(model, obj.pk, "delete"), {"post": "yes"}).status_code == 403
        # The bulk action is gone too: a forged POST of it deletes nothing.
        root.post(
            _admin_url(model),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        assert model.objects.filter(pk=obj.pk).exists()
    assert Project.objects.get().last_serial == serial
    assert Event.objects.count() == events_after_login >= events
    simple = client.get("/simple/sample/", HTTP_ACCEPT="application/vnd.pypi.simple.v1+json")
    assert [f["filename"] for f in simple.json()["files"]] == [published.filename]


def test_deleting_or_adding_accounts_and_audit_rows_in_the_admin_is_refused(staff, user):
    root = signed_in_with_second_factor(staff)
    event = Event.objects.first()
    record = SessionRecord.objects.filter(user=staff).first()
    assert event is not None and record is not None
    for model, obj in [(User, user), (Event, event), (SessionRecord, record)]:
        assert root.post(_admin_url(model, obj.pk, "delete"), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()
    before = User.objects.count()
    add = root.post(_admin_url(User, "add"), {"username": "mallory", "is_staff": "on"})
    assert add.status_code == 403 and User.objects.count() == before
    assert Event.objects.filter(pk=event.pk).exists()


def test_an_admin_account_edit_writes_only_the_flags_through_the_service(staff, user):
    root = signed_in_with_second_factor(staff)
    email = user.emails.get()
    forged = {
        "username": "mallory",  # read-only on the page: a forged value is ignored
        "name": "Mallory",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "",
        "emails-TOTAL_FORMS": "2",
        "emails-INITIAL_FORMS": "1",
        "emails-MIN_NUM_FORMS": "0",
        "emails-MAX_NUM_FORMS": "1000",
        "emails-0-id": str(email.pk),
        "emails-0-user": str(user.pk),
        "emails-0-email": "mallory@evil.example",
        "emails-0-DELETE": "on",
        "emails-1-user": str(user.pk),
        "emails-1-email": "second@evil.example",
    }
    response = root.post(_admin_url(User, user.pk, "change"), forged)
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.username == "alice" and user.name == "" and user.is_staff
    assert list(user.emails.values_list("email", flat=True)) == ["alice@example.org"]
    event = Event.objects.get(tag="account:admin:change")
    assert event.actor_id == staff.pk and event.user_id == user.pk
    assert event.extra["changed"] == ["is_staff"] and event.extra["is_staff"] is True


def test_an_admin_project_edit_changes_only_the_upload_limit(published, staff):
    project = published.project
    root = signed_in_with_second_factor(staff)
    response = root.post(
        _admin_url(Project, project.pk, "change"),
        {"upload_limit": "2000", "name": "evil", "marked_critical": "on", "popular": "on"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.upload_limit == 2000 and project.name == "sample"
    assert not project.marked_critical and not project.popular
    role = Role.objects.get(project=project)
    assert (
        root.post(_admin_url(Role, role.pk, "change"), {"role_name": "Maintainer"}).status_code
        == 403
    )
    assert Role.objects.get(pk=role.pk).role_name == "Owner"


# --- staff pages need a second factor, passed in this session ------------------------------

STAFF_PAGES = [
    "/admin/records/",
    "/admin/records/accounts/user/",
    "/admin/records/events/event/",
    "/manage/audit/",
]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_a_password_only_staff_account_is_sent_to_enrol_a_second_factor(client, staff, path):
    assert log_in(client, "root").status_code == 302
    response = client.get(path)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Staff pages need a second factor, and your account has none" in body
    assert 'href="/manage/account/#security-heading"' in body
    assert client.get("/manage/audit/export").status_code == 403


def test_staff_whose_session_did_not_pass_the_factor_must_sign_in_again(client, staff):
    """A session from before the factor existed (or before this rule) proves a password only."""
    assert log_in(client, "root").status_code == 302
    TOTPDevice.objects.create(
        user=staff, secret=secrets_box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), confirmed=True
    )
    for path in STAFF_PAGES:
        response = client.get(path)
        assert response.status_code == 403
        assert "log out, then log in again with your authenticator app" in response.content.decode()
    # A forged session value does not pass for a second factor either.
    session = client.session
    session["strongroom_second_factor"] = "yes"
    session.save()
    assert client.get("/admin/records/").status_code == 403


def test_others_still_find_no_staff_pages(client, user):
    signed_in = signed_in_with_second_factor(user)  # a second factor but no staff flag
    assert signed_in.get("/admin/records/").status_code == 302
    assert signed_in.get("/manage/audit/").status_code == 404
    assert Client().get("/manage/audit/").status_code == 404


def test_createadmin_account_enrols_a_factor_then_reaches_the_admin(client):
    """createadmin makes a staff account without a second factor: it enrols one first."""
    create_user(
        username="boss", email="boss@example.org", password=PASSWORD, verified=True, staff=True
    )
    assert log_in(client, "boss").status_code == 302
    assert client.get("/admin/records/").status_code == 403
    page = client.get("/manage/account/totp-provision").content.decode()
    match = re.search(r'data-secret="([A-Z2-7]+)"', page)
    assert match
    code = totp.code_at_step(match.group(1), totp.time_step(time.time()))
    response = client.post("/manage/account/totp-provision", {"code": code})
    assert response.status_code == 302
    # This session has just proved the factor: the admin and the audit log open.
    assert client.get("/admin/records/").status_code == 200
    assert client.get("/manage/audit/").status_code == 200
    # Signing in again takes the second step, and then the admin opens again.
    client.post("/account/logout/")
    assert log_in(client, "boss")["Location"] == "/account/two-factor/"
    assert client.get("/admin/records/").status_code == 302  # half signed in: not signed in


def test_the_admins_own_password_change_and_logout_go_through_the_account_services(staff):
    root = signed_in_with_second_factor(staff)
    response = root.post(
        "/admin/records/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "an-entirely-new-pass-31",
            "new_password2": "an-entirely-new-pass-31",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/manage/account/password/"
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    assert root.post("/admin/records/logout/").status_code == 302
    assert Event.objects.filter(tag="account:logout", actor=staff).exists()
    assert root.get("/admin/records/").status_code == 302  # signed out
