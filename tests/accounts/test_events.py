"""Issue 2, item 7: the audit events of every account action, and the security history."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from strongroom.accounts.models import SessionRecord, User
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from tests.conftest import log_in, messages_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_GUESS = "my-secret-guess-71"
NEW = "another-long-unusual-pass-31"


def tags_for(user) -> set[str]:
    return set(Event.objects.filter(user=user).values_list("tag", flat=True))


def _token(message) -> str:
    return re.search(r"token=([^\s\"<]+)", message.body).group(1)


def test_every_account_action_records_its_event(mailoutbox):
    client = Client(HTTP_USER_AGENT="pytest-browser", REMOTE_ADDR="203.0.113.5")
    client.post(
        "/account/register/",
        {
            "username": "zoe",
            "email": "zoe@example.org",
            "new_password": NEW,
            "confirm_password": NEW,
        },
    )
    user = User.objects.get(username="zoe")
    client.post("/account/verify-email/", {"token": _token(mailoutbox[-1])})
    client.post("/account/login/", {"login": "zoe", "password": "wrong-wrong"})
    client.post("/account/login/", {"login": "zoe", "password": NEW})
    client.post("/manage/account/emails/", {"action": "add", "email": "zoe2@example.org"})
    second = user.emails.get(email="zoe2@example.org")
    client.post("/account/verify-email/", {"token": _token(mailoutbox[-2])})
    client.post("/manage/account/emails/", {"action": "primary", "email_id": second.pk})
    first = user.emails.get(email="zoe@example.org")
    client.post("/manage/account/emails/", {"action": "remove", "email_id": first.pk})
    other = Client()
    log_in(other, "zoe", NEW)
    theirs = SessionRecord.objects.exclude(pk=client.session["strongroom_sid"]).get()
    client.post("/manage/account/sessions/", {"session_id": str(theirs.pk)})
    client.post(
        "/manage/account/password/",
        {"current_password": NEW, "new_password": PASSWORD, "confirm_password": PASSWORD},
    )
    client.post("/account/logout/")
    client.post("/account/reset-password/", {"login": "zoe"})
    link = re.search(r"(/account/reset-password/\S+/\S+/)", mailoutbox[-1].body).group(1)
    client.post(link, {"new_password": NEW, "confirm_password": NEW})
    for _attempt in range(11):
        client.post("/account/login/", {"login": "zoe", "password": "wrong-wrong"})

    assert tags_for(user) >= {
        "account:create",
        "account:login:success",
        "account:login:failure",
        "account:logout",
        "account:password:change",
        "account:password:reset_request",
        "account:password:reset",
        "account:email:add",
        "account:email:remove",
        "account:email:verified",
        "account:email:primary_change",
        "account:session:revoked",
        "account:ratelimit:hit",
    }
    change = Event.objects.get(tag="account:email:primary_change")
    assert change.extra == {"old": "zoe@example.org", "new": "zoe2@example.org"}
    login = Event.objects.filter(tag="account:login:success").last()  # the first one
    assert login.ip == "203.0.113.5" and login.user_agent == "pytest-browser"
    assert messages_for("zoe2@example.org", mailoutbox)


def test_failed_login_never_stores_the_password_or_the_attempted_name(client, user):
    client.post("/account/login/", {"login": "alice", "password": SECRET_GUESS})
    client.post("/account/login/", {"login": "mallory-typo", "password": SECRET_GUESS})
    failures = Event.objects.filter(tag="account:login:failure")
    assert failures.count() == 2
    for event in failures:
        stored = f"{event.extra} {event.user_agent} {event.ip}"
        assert SECRET_GUESS not in stored
        assert "mallory-typo" not in stored
    known, unknown = failures.get(user=user), failures.get(user=None)
    assert known.extra["reason"] == "invalid_password"
    assert unknown.extra["reason"] == "unknown_user"
    # The keyed hash is stable, so repeated attempts at one name can be linked.
    client.post("/account/login/", {"login": "Mallory-Typo", "password": "x" * 9})
    latest = Event.objects.filter(tag="account:login:failure").first()
    assert latest.extra["login_hash"] == unknown.extra["login_hash"]


def test_security_history_shows_the_last_90_days_of_own_events(signed_in, user):
    old = record_event(EventTag.ACCOUNT_PASSWORD_CHANGE, user=user)
    Event.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=91))
    recent = record_event(EventTag.ACCOUNT_EMAIL_ADD, user=user, extra={"email": "x@example.org"})
    Event.objects.filter(pk=recent.pk).update(created=timezone.now() - timedelta(days=89))
    from tests.factories import UserFactory

    record_event(EventTag.ACCOUNT_PASSWORD_RESET, user=UserFactory(username="bob"))
    signed_in.post("/account/login/", {"login": "nobody", "password": "x" * 9})

    page = signed_in.get("/manage/account/history/").content.decode()
    assert 'data-tag="account:login:success"' in page
    assert 'data-tag="account:email:add"' in page and "x@example.org" in page
    assert 'data-tag="account:password:change"' not in page  # older than 90 days
    assert 'data-tag="account:password:reset"' not in page  # someone else's
    assert "last 90 days" in page


def test_history_explains_failures_in_words(signed_in, user):
    Client().post("/account/login/", {"login": "alice", "password": "x" * 9})
    page = signed_in.get("/manage/account/history/").content.decode()
    assert "Failed login (wrong password)" in page
    assert "invalid_password" not in page.replace('data-tag="', "")


def test_anonymous_limits_record_their_hits_too(client, db):
    for _attempt in range(6):
        client.post("/account/reset-password/", {"login": "nobody"})
    from django.test import override_settings

    with override_settings(REGISTRATION_LIMIT_PER_IP="1/hour"):
        for name in ["u1", "u2"]:
            client.post(
                "/account/register/",
                {
                    "username": name,
                    "email": f"{name}@example.org",
                    "new_password": NEW,
                    "confirm_password": NEW,
                },
            )
    limits = [e.extra["limit"] for e in Event.objects.filter(tag="account:ratelimit:hit")]
    assert sorted(limits) == ["password-reset:ip", "register:ip"]
