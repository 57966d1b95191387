"""Issue 21, item 13, and issue 17: the stock admin is strictly read-only (every change is
the staff console's, through a service), and staff pages need a second factor passed in
this session."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client

from strongroom.accounts.models import SessionRecord, User
from strongroom.accounts.services import create_user
from strongroom.events.models import Event
from strongroom.mfa import secrets_box, totp
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import File, Project, Release, Role, RoleInvitation
from strongroom.web.admin_site import ServiceAdmin
from tests.conftest import log_in, signed_in_with_second_factor
from tests.distributions import post_upload, upload_form
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


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


# --- read-only: no add, change, delete or action, whoever asks ------------------------------

REGISTERED = list(admin.site._registry)


def test_the_admin_shows_no_group_editor():
    """Rights come from the staff flag (set in the console); groups would go around it."""
    assert Group not in admin.site._registry
    assert all(model.__module__.startswith("strongroom.") for model in REGISTERED)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_every_registered_admin_grants_no_write_even_to_a_superuser(model, rf, staff):
    assert staff.is_superuser
    model_admin = admin.site._registry[model]
    request = rf.get("/admin/records/")
    request.user = staff  # a superuser: only the admin itself can say no
    assert isinstance(model_admin, ServiceAdmin)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.get_actions(request) == {}
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request, None)
        assert not inline.has_delete_permission(request, None)


def _a_row_of_each_model(published: File, staff: User) -> dict[type, object]:
    project = published.project
    invitee = UserFactory(username="ivy")
    invitation = RoleInvitation.objects.create(
        project=project,
        invitee=invitee,
        inviter=published.uploader,
        role_name="Maintainer",
        nonce="n",
    )
    rows = {
        User: published.uploader,
        SessionRecord: SessionRecord.objects.filter(user=staff).first(),
        Event: Event.objects.first(),
        Project: project,
        Release: published.release,
        File: published,
        Role: Role.objects.get(project=project),
        RoleInvitation: invitation,
    }
    assert set(rows) == set(REGISTERED) and all(rows.values())
    return rows


def _snapshot(model: type, obj: object) -> dict:
    return model.objects.filter(pk=obj.pk).values().get()  # type: ignore[attr-defined]


def test_every_admin_page_refuses_posts_and_shows_no_form(client, published, staff):
    """A superuser with a second factor, forging every write the stock admin knows: each
    is refused with 403 and no row changes; the change pages show the row, with no form."""
    root = signed_in_with_second_factor(staff)
    rows = _a_row_of_each_model(published, staff)
    before = {model: _snapshot(model, obj) for model, obj in rows.items()}
    counts = {model: model.objects.count() for model in rows}
    events = Event.objects.count()
    forged = {
        "username": "mallory", "is_staff": "on", "is_superuser": "on", "is_active": "",
        "upload_limit": "99999999999", "total_size_limit": "99999999999",
        "marked_critical": "on", "role_name": "Owner", "post": "yes",
    }  # fmt: skip
    for model, obj in rows.items():
        for path in [
            _admin_url(model, "add"),
            _admin_url(model, obj.pk, "change"),
            _admin_url(model, obj.pk, "delete"),
        ]:
            response = root.post(path, forged)
            assert response.status_code == 403, (model.__name__, path)
        for action in ["delete_selected", "mark_critical", "unmark_critical"]:
            response = root.post(
                _admin_url(model), {"action": action, "_selected_action": [obj.pk], **forged}
            )
            assert response.status_code == 403, (model.__name__, action)
        page = root.get(_admin_url(model, obj.pk, "change"))
        assert page.status_code == 200, model.__name__
        body = page.content.decode()
        assert 'name="_save"' not in body and 'name="_continue"' not in body, model.__name__
        # The one button on the page is the site's log out.
        assert body.count('type="submit"') == 1 and "Log out</button>" in body, model.__name__
        assert root.get(_admin_url(model, "add")).status_code == 403
        listing = root.get(_admin_url(model)).content.decode()
        assert 'name="action"' not in listing, model.__name__  # no action menu
    for model, obj in rows.items():
        assert _snapshot(model, obj) == before[model], model.__name__
        assert model.objects.count() == counts[model], model.__name__
    assert Event.objects.count() == events


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
