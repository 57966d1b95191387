"""Account recovery for a user who lost every second factor: asked for on the second login
step, confirmed from a verified address, cancellable by every verified address, decided by
staff after the waiting period (an injected clock here), expiring, every step audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import Email, SessionRecord
from strongroom.console import recovery
from strongroom.console.errors import ConsoleError
from strongroom.console.models import RecoveryRequest
from strongroom.events.models import Event
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice
from strongroom.tokens.models import ApiToken
from strongroom.tokens.services import create_token
from tests.conftest import log_in
from tests.console.conftest import Console
from tests.governance.conftest import give_totp

pytestmark = pytest.mark.django_db(transaction=True)


def _link(kind: str) -> str:
    for message in reversed(mail.outbox):
        found = re.search(rf"https?://[^/\s]+(/account/recovery/{kind}/[^/\s]+/)", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {kind} link in {[m.subject for m in mail.outbox]}")


def _ask(client: Client) -> None:
    assert log_in(client, "tara")["Location"] == "/account/two-factor/"
    step = client.get("/account/two-factor/").content.decode()
    assert 'href="/account/recovery/"' in step and "Lost your second factor?" in step
    response = client.post("/account/recovery/")
    assert response.status_code == 200 and b"Check your email" in response.content


@pytest.fixture
def lost(console: Console) -> Console:
    """tara has an authenticator app, a token, a second verified address, and lost it all."""
    give_totp(console.target)
    RecoveryCode.objects.create(user=console.target, code_hash="x")
    Email.objects.create(
        user=console.target, email="tara@home.example", verified=True, verified_at=timezone.now()
    )
    create_token(Actor.of(console.target), name="ci", project_names=None, expires_at=None)
    mail.outbox.clear()
    return console


def _tags(console: Console) -> list[str]:
    return list(
        Event.objects.filter(user=console.target, tag__contains="recovery")
        .order_by("pk")
        .values_list("tag", flat=True)
    )


def test_full_recovery_from_request_to_new_factor(lost: Console) -> None:
    console = lost
    user_client = Client()
    _ask(user_client)
    assert sorted(m.to[0] for m in mail.outbox) == ["tara@example.org", "tara@home.example"]
    confirm = _link("confirm")
    assert user_client.get(confirm).status_code == 200  # a button, not an action
    assert RecoveryRequest.objects.get().status == "unconfirmed"
    mail.outbox.clear()
    response = user_client.post(confirm)
    assert response.status_code == 200 and b"The request is confirmed" in response.content
    assert sorted(m.to[0] for m in mail.outbox) == ["tara@example.org", "tara@home.example"]
    assert _link("cancel")
    # Single use.
    again = user_client.post(confirm)
    assert again.status_code == 400 and b"already been used" in again.content

    item = RecoveryRequest.objects.get()
    page = console.client.get(f"/admin/recovery/{item.pk}/").content.decode()
    assert "account:recovery:confirm" in page  # the account's recent history is shown
    data = {"approve-note": "Called her", "approve-code": console.code()}
    response = console.client.post(f"/admin/recovery/{item.pk}/approve", data)
    assert response.status_code == 400 and "waiting period ends" in response.content.decode()
    assert TOTPDevice.objects.filter(user=console.target).exists()

    # The waiting period passes.
    RecoveryRequest.objects.filter(pk=item.pk).update(
        confirmed_at=timezone.now() - timedelta(hours=25)
    )
    before = Event.objects.count()
    data["approve-code"] = console.code()
    response = console.client.post(f"/admin/recovery/{item.pk}/approve", data)
    assert response.status_code == 302
    assert Event.objects.count() == before + 1
    event = Event.objects.latest("pk")
    assert event.tag == "admin:recovery:approve" and event.actor_id == console.staff.pk
    assert not TOTPDevice.objects.filter(user=console.target).exists()
    assert not SecurityKey.objects.filter(user=console.target).exists()
    assert not RecoveryCode.objects.filter(user=console.target).exists()
    assert not ApiToken.objects.filter(user=console.target).exists()
    assert not SessionRecord.objects.filter(user=console.target).exists()

    # The next login must set up a new factor before anything else.
    fresh = Client()
    assert log_in(fresh, "tara").status_code == 302
    for path in ["/manage/account/", "/manage/projects/", "/admin/"]:
        response = fresh.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/manage/account/totp-provision"
    assert fresh.get("/manage/account/totp-provision").status_code == 200
    TOTPDevice.objects.filter(user=console.target).update(confirmed=True)  # the app is set up
    assert fresh.get("/manage/account/").status_code == 200
    assert not RecoveryRequest.objects.get().awaiting_new_factor
    assert _tags(console) == [
        "account:recovery:request",
        "account:recovery:confirm",
        "admin:recovery:approve",
    ]


def test_the_cancel_link_closes_the_request_for_good(lost: Console) -> None:
    console = lost
    user_client = Client()
    _ask(user_client)
    user_client.post(_link("confirm"))
    cancel = _link("cancel")
    other = Client()  # from the other mailbox, not signed in
    assert other.get(cancel).status_code == 200
    response = other.post(cancel)
    assert response.status_code == 200 and b"is cancelled" in response.content
    item = RecoveryRequest.objects.get()
    assert item.status == "cancelled"
    later = timezone.now() + timedelta(days=2)
    with pytest.raises(ConsoleError, match="closed"):
        recovery.approve_recovery(
            Actor.of(console.staff), item.pk, "", code=console.code(), now=later
        )
    assert other.post(cancel).status_code == 400
    assert TOTPDevice.objects.filter(user=console.target).exists()
    assert _tags(console)[-1] == "account:recovery:cancel"


def test_waiting_period_and_expiry_follow_the_injected_clock(lost: Console, settings) -> None:
    console = lost
    settings.RECOVERY_WAIT_HOURS = 24
    settings.RECOVERY_EXPIRE_DAYS = 7
    start = timezone.now()
    actor = Actor(ip="192.0.2.1")
    item = recovery.request_recovery(actor, console.target, now=start)
    with pytest.raises(ConsoleError, match="already open"):
        recovery.request_recovery(actor, console.target, now=start)
    token = _link("confirm").split("/")[-2]
    recovery.confirm_recovery(actor, token, now=start + timedelta(hours=1))
    staff = Actor.of(console.staff)
    at_23h = start + timedelta(hours=24)
    with pytest.raises(ConsoleError, match="waiting period"):
        recovery.reject_recovery(staff, item.pk, "no", code=console.code(), now=at_23h)
    with pytest.raises(ConsoleError, match="Say why"):
        recovery.reject_recovery(staff, item.pk, " ", code=console.code(), now=at_23h)
    after_expiry = start + timedelta(days=7, minutes=1)
    with pytest.raises(ConsoleError, match="expired"):
        recovery.approve_recovery(staff, item.pk, "", code=console.code(), now=after_expiry)
    assert recovery.is_expired(RecoveryRequest.objects.get(), after_expiry)
    # An expired request does not block a new one.
    again = recovery.request_recovery(actor, console.target, now=after_expiry)
    assert RecoveryRequest.objects.get(pk=item.pk).status == "expired"
    token = _link("confirm").split("/")[-2]
    recovery.confirm_recovery(actor, token, now=after_expiry)
    decided = recovery.reject_recovery(
        staff, again.pk, "Not you", code=console.code(), now=after_expiry + timedelta(hours=25)
    )
    assert decided.status == "rejected"
    assert "Not you" in mail.outbox[-1].body
    assert _tags(console)[-1] == "admin:recovery:reject"


def test_a_tampered_or_expired_link_is_refused(lost: Console) -> None:
    item = recovery.request_recovery(Actor(), lost.target)
    token = _link("confirm").split("/")[-2]
    response = Client().post(f"/account/recovery/confirm/{token}x/")
    assert response.status_code == 400 and b"not valid" in response.content
    with pytest.raises(ConsoleError, match="expired"):
        recovery.confirm_recovery(Actor(), token, now=timezone.now() + timedelta(days=8))
    assert RecoveryRequest.objects.get(pk=item.pk).status in {"unconfirmed", "expired"}


def test_recovery_needs_the_password_step_and_a_verified_address(lost: Console) -> None:
    response = Client().get("/account/recovery/")
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    Email.objects.filter(user=lost.target).update(verified=False)
    client = Client()
    assert log_in(client, "tara").status_code == 302
    response = client.post("/account/recovery/")
    assert response.status_code == 400
    assert b"no verified email address" in response.content
    assert not RecoveryRequest.objects.exists()


def test_staff_cannot_approve_their_own_recovery(lost: Console) -> None:
    staff = lost.staff
    item = recovery.request_recovery(Actor(), staff)
    token = _link("confirm").split("/")[-2]
    recovery.confirm_recovery(Actor(), token)
    with pytest.raises(ConsoleError, match="Another staff member"):
        recovery.approve_recovery(
            Actor.of(staff), item.pk, "", code=lost.code(), now=timezone.now() + timedelta(days=2)
        )
