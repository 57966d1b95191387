"""Every console action through the real pages: one service call, exactly one ``admin:*``
event naming the staff member, an email to whoever it affects, and a fresh code from the
staff member's authenticator app each time."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.accounts.models import Email, SessionRecord
from strongroom.console.models import Suspension
from strongroom.events.chain import verify_chain
from strongroom.events.models import Event
from strongroom.packages.models import Project
from strongroom.tokens.contexts import upload_context
from strongroom.tokens.models import ApiToken
from strongroom.tokens.services import TokenError, create_token, verify_token
from tests.conftest import log_in
from tests.console.conftest import Console
from tests.governance.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


def _act(console: Console, url: str, **fields: str) -> tuple[object, list[Event]]:
    """POST one action with a fresh code; the response and the events it recorded."""
    before = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    prefix = fields.pop("prefix")
    data = {f"{prefix}-{k}": v for k, v in {"code": console.code(), **fields}.items()}
    response = console.client.post(url, data)
    return response, list(Event.objects.filter(pk__gt=before).order_by("pk"))


def _one_admin_event(events: list[Event], tag: str, console: Console) -> Event:
    assert [e.tag for e in events] == [tag]
    assert events[0].actor_id == console.staff.pk
    assert events[0].extra.get("staff", console.staff.username) == console.staff.username
    return events[0]


def _user_url(console: Console, action: str) -> str:
    return f"/admin/users/{console.target.username}/{action}"


def test_suspending_ends_sessions_and_refuses_login_and_tokens(console: Console) -> None:
    user_client = client_for(console.target)
    _token, raw = create_token(
        Actor.of(console.target), name="ci", project_names=None, expires_at=None
    )
    context = upload_context(console.project, "widget")
    verify_token(raw, context)
    mail.outbox.clear()

    response, events = _act(
        console, _user_url(console, "suspend"), prefix="suspend", reason="Spam uploads"
    )
    assert response.status_code == 302
    event = _one_admin_event(events, "admin:user:suspend", console)
    assert event.user_id == console.target.pk and event.extra["sessions_ended"] == 1
    assert [m.to for m in mail.outbox] == [["tara@example.org"]]
    assert "Spam uploads" in mail.outbox[0].body

    # Their session is gone, their token refused, their password refused.
    assert not SessionRecord.objects.filter(user=console.target).exists()
    assert user_client.get("/manage/account/").status_code == 302
    with pytest.raises(TokenError):
        verify_token(raw, upload_context(console.project, "widget"))
    assert log_in(Client(), "tara").status_code != 302
    with pytest.raises(NotPermitted):  # nor can a new token be minted
        create_token(Actor.of(console.target), name="new", project_names=None, expires_at=None)
    page = console.client.get(f"/admin/users/{console.target.username}/").content.decode()
    assert "Suspended: Spam uploads" in page

    response, events = _act(console, _user_url(console, "reactivate"), prefix="reactivate")
    assert response.status_code == 302
    _one_admin_event(events, "admin:user:reactivate", console)
    assert not Suspension.objects.exists()
    verify_token(raw, upload_context(console.project, "widget"))
    assert log_in(Client(), "tara").status_code == 302


def test_a_wrong_or_reused_code_refuses_the_action(console: Console) -> None:
    url = _user_url(console, "suspend")
    client_for(console.target)
    response = console.client.post(url, {"suspend-reason": "x", "suspend-code": "000000"})
    assert response.status_code == 400
    assert "is not correct" in response.content.decode()
    code = console.code()
    response = console.client.post(_user_url(console, "end-sessions"), {"sessions-code": code})
    assert response.status_code == 302
    events = Event.objects.count()
    response = console.client.post(url, {"suspend-reason": "x", "suspend-code": code})
    assert response.status_code == 400 and "already used" in response.content.decode()
    assert Event.objects.count() == events
    console.target.refresh_from_db()
    assert console.target.is_active and not Suspension.objects.exists()


def test_staff_cannot_suspend_themselves(console: Console) -> None:
    response = console.client.post(
        f"/admin/users/{console.staff.username}/suspend",
        {"suspend-reason": "x", "suspend-code": console.code()},
    )
    assert response.status_code == 400
    assert "your own account" in response.content.decode()


def test_end_sessions_revoke_token_and_verify_address(console: Console) -> None:
    client_for(console.target)
    response, events = _act(console, _user_url(console, "end-sessions"), prefix="sessions")
    assert response.status_code == 302
    _one_admin_event(events, "admin:user:sessions_end", console)
    assert not SessionRecord.objects.filter(user=console.target).exists()

    token, _raw = create_token(
        Actor.of(console.target), name="ci", project_names=["widget"], expires_at=None
    )
    mail.outbox.clear()
    response, events = _act(
        console, _user_url(console, f"tokens/{token.pk}/revoke"), prefix="token"
    )
    assert response.status_code == 302
    event = _one_admin_event(events, "admin:user:token_revoke", console)
    assert event.extra["projects"] == "widget"
    assert not ApiToken.objects.exists()
    assert "sofia" in mail.outbox[0].body
    # Twice: a clear refusal, nothing recorded.
    response, events = _act(
        console, _user_url(console, f"tokens/{token.pk}/revoke"), prefix="token"
    )
    assert response.status_code == 400 and not events
    assert "already revoked" in response.content.decode()

    extra = Email.objects.create(user=console.target, email="tara@work.example")
    response, events = _act(
        console, _user_url(console, f"emails/{extra.pk}/verify"), prefix="email"
    )
    assert response.status_code == 302
    _one_admin_event(events, "admin:user:email_verify", console)
    extra.refresh_from_db()
    assert extra.verified and extra.verified_at is not None


def test_project_limit_critical_and_remove(console: Console) -> None:
    url = f"/admin/projects/{console.project.normalized_name}/"
    mail.outbox.clear()
    response, events = _act(console, url + "limits", prefix="limits", limit_mib="500")
    assert response.status_code == 302
    _one_admin_event(events, "admin:project:limits", console)
    console.project.refresh_from_db()
    assert console.project.upload_limit == 500 * 1024 * 1024
    assert mail.outbox and mail.outbox[0].to == ["tara@example.org"]
    response, events = _act(console, url + "limits", prefix="limits", limit_mib="999999")
    assert response.status_code == 400 and not events

    response, events = _act(console, url + "critical", prefix="critical")
    assert response.status_code == 302
    _one_admin_event(events, "admin:project:critical", console)
    console.project.refresh_from_db()
    assert console.project.marked_critical and console.project.critical_since

    response, events = _act(console, url + "remove", prefix="remove", confirm_name="wrong")
    assert response.status_code == 400 and not events
    assert "exactly to remove it" in response.content.decode()
    response, events = _act(console, url + "remove", prefix="remove", confirm_name="widget")
    assert response.status_code == 302
    _one_admin_event(events, "admin:project:remove", console)
    assert not Project.objects.exists()


def test_the_audit_chain_verifies_after_every_action(console: Console) -> None:
    test_end_sessions_revoke_token_and_verify_address(console)
    test_suspending_ends_sessions_and_refuses_login_and_tokens(console)
    test_project_limit_critical_and_remove(console)
    tags = set(Event.objects.filter(tag__startswith="admin:").values_list("tag", flat=True))
    assert tags >= {
        "admin:user:suspend",
        "admin:user:reactivate",
        "admin:user:sessions_end",
        "admin:user:token_revoke",
        "admin:user:email_verify",
        "admin:project:limits",
        "admin:project:critical",
        "admin:project:remove",
    }
    assert verify_chain().ok


def test_guessing_codes_runs_out_of_attempts(console: Console) -> None:
    url = _user_url(console, "suspend")
    for _ in range(5):
        response = console.client.post(url, {"suspend-reason": "x", "suspend-code": "000000"})
        assert "is not correct" in response.content.decode()
    response = console.client.post(url, {"suspend-reason": "x", "suspend-code": console.code()})
    assert response.status_code == 400 and "Too many wrong codes" in response.content.decode()
    console.target.refresh_from_db()
    assert console.target.is_active


def test_staff_access_is_granted_and_removed_only_in_the_console(console: Console) -> None:
    """What the stock admin's flag boxes did, as services: one event each, an email."""
    url = _user_url(console, "grant-staff")
    mail.outbox.clear()
    response, events = _act(console, url, prefix="staff")
    assert response.status_code == 302
    event = _one_admin_event(events, "admin:user:staff_grant", console)
    assert event.user_id == console.target.pk
    console.target.refresh_from_db()
    assert console.target.is_staff and console.target.is_superuser
    assert [m.to for m in mail.outbox] == [["tara@example.org"]]
    assert "sofia made your account staff" in mail.outbox[0].body
    response, events = _act(console, url, prefix="staff")
    assert response.status_code == 400 and not events
    assert "already staff" in response.content.decode()

    response, events = _act(console, _user_url(console, "revoke-staff"), prefix="staff")
    assert response.status_code == 302
    _one_admin_event(events, "admin:user:staff_revoke", console)
    console.target.refresh_from_db()
    assert not console.target.is_staff and not console.target.is_superuser

    # Nobody removes their own access (the last staff member cannot lock everyone out).
    response, events = _act(
        console, f"/admin/users/{console.staff.username}/revoke-staff", prefix="staff"
    )
    assert response.status_code == 400 and not events
    assert "your own staff access" in response.content.decode()
    console.staff.refresh_from_db()
    assert console.staff.is_staff


def test_a_suspended_account_is_not_made_staff(console: Console) -> None:
    _act(console, _user_url(console, "suspend"), prefix="suspend", reason="Spam")
    response, events = _act(console, _user_url(console, "grant-staff"), prefix="staff")
    assert response.status_code == 400 and not events
    console.target.refresh_from_db()
    assert not console.target.is_staff


def test_a_wrong_code_grants_nothing(console: Console) -> None:
    response = console.client.post(_user_url(console, "grant-staff"), {"staff-code": "000000"})
    assert response.status_code == 400 and "is not correct" in response.content.decode()
    console.target.refresh_from_db()
    assert not console.target.is_staff
    assert not Event.objects.filter(tag__startswith="admin:").exists()
