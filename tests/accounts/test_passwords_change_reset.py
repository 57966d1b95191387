"""Issue 2, item 5: password change and reset; both end every other session."""

import re

import pytest
from django.test import Client

from strongroom.accounts.models import SessionRecord, User
from strongroom.events.models import Event
from tests.conftest import log_in, messages_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "another-long-unusual-pass-31"
_RESET = re.compile(r"(/account/reset-password/[^/\s]+/[^/\s]+/)")


def change(client, current=PASSWORD, new=NEW, confirm=None):
    return client.post(
        "/manage/account/password/",
        {"current_password": current, "new_password": new, "confirm_password": confirm or new},
    )


def test_password_change_needs_the_current_password(client, user):
    log_in(client, "alice")
    response = change(client, current="not-my-password")
    assert response.status_code == 400
    assert b"Your current password is not correct." in response.content
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_ends_every_other_session_but_this_one(user):
    mine, other = Client(), Client()
    log_in(mine, "alice")
    log_in(other, "alice", REMOTE_ADDR="10.1.1.1")
    assert other.get("/manage/account/").status_code == 200
    response = change(mine)
    assert response.status_code == 302
    assert mine.get("/manage/account/").status_code == 200
    assert other.get("/manage/account/").status_code == 302  # sent to the login page
    assert SessionRecord.objects.filter(user=user).count() == 1
    user.refresh_from_db()
    assert user.check_password(NEW)
    event = Event.objects.get(tag="account:password:change")
    assert event.extra["sessions_ended"] == 1


def test_wrong_current_passwords_count_as_failed_logins(client, user):
    log_in(client, "alice")
    for _attempt in range(10):
        assert change(client, current="guess-guess").status_code == 400
    response = change(client, current=PASSWORD)
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_new_password_must_follow_the_rules(client, user):
    log_in(client, "alice")
    assert change(client, new="alice123").status_code == 400
    assert change(client, new="password1").status_code == 400
    assert change(client, new=NEW, confirm=NEW + "x").status_code == 400


def _request_reset(client, mailoutbox, login="alice") -> str:
    response = client.post("/account/reset-password/", {"login": login})
    assert response.status_code == 200
    assert b"If an account matches what you entered" in response.content
    (message,) = messages_for("alice@example.org", mailoutbox)[-1:]
    return _RESET.search(message.body).group(1)


def _reset(client, link, new=NEW):
    return client.post(link, {"new_password": new, "confirm_password": new})


def test_password_reset_by_emailed_link_works_once(client, user, mailoutbox):
    link = _request_reset(client, mailoutbox)
    assert client.get(link).status_code == 200
    response = _reset(client, link)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)
    again = _reset(Client(), link, new="yet-another-unusual-pass-55")
    assert again.status_code == 400
    assert b"has expired or has already been used" in again.content
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert Event.objects.filter(tag="account:password:reset", user=user).exists()


def test_reset_link_dies_when_the_user_logs_in(client, user, mailoutbox):
    link = _request_reset(client, mailoutbox)
    log_in(Client(), "alice")
    response = client.get(link)
    assert response.status_code == 400
    assert b"has expired or has already been used" in response.content


def test_reset_link_dies_when_the_password_changes(client, user, mailoutbox):
    link = _request_reset(client, mailoutbox)
    other = Client()
    log_in(other, "alice")
    change(other)
    assert client.get(link).status_code == 400


def test_reset_ends_every_session(client, user, mailoutbox):
    signed_in = Client()
    log_in(signed_in, "alice")
    link = _request_reset(client, mailoutbox)
    _reset(client, link)
    assert not SessionRecord.objects.filter(user=user).exists()
    assert signed_in.get("/manage/account/").status_code == 302


@pytest.mark.parametrize(
    "link",
    [
        "/account/reset-password/bm90LWEtdXVpZA/abc-123/",  # "not-a-uuid"
        "/account/reset-password/%25%25%25/abc/",
        "/account/reset-password/MTIz/abc/",
        "/account/reset-password/" + "A" * 500 + "/x/",
    ],
    ids=["not-a-uuid", "not-base64", "short-id", "huge-id"],
)
def test_tampered_reset_links_get_a_clear_page(client, link):
    response = client.get(link)
    assert response.status_code == 400
    assert b"This password reset link is not valid." in response.content


def test_tampered_token_for_a_real_user_is_refused(client, user, mailoutbox):
    link = _request_reset(client, mailoutbox)
    forged = link.rstrip("/")[:-3] + "zzz/"
    response = _reset(client, forged)
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_for_an_unknown_account_looks_the_same_and_sends_nothing(client, db, mailoutbox):
    response = client.post("/account/reset-password/", {"login": "nobody"})
    assert response.status_code == 200
    assert b"If an account matches what you entered" in response.content
    assert mailoutbox == []


def test_reset_requests_are_rate_limited(client, user, mailoutbox):
    for _attempt in range(5):
        client.post("/account/reset-password/", {"login": "alice"})
    response = client.post("/account/reset-password/", {"login": "alice"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(mailoutbox) == 5
    assert User.objects.get().check_password(PASSWORD)


def test_refused_reset_requests_are_recorded_once_not_each(client, user, mailoutbox):
    """Issue 21, item 16: an address hammering a limit cannot flood the audit chain."""
    for _attempt in range(5):
        client.post("/account/reset-password/", {"login": "alice"})
    for _attempt in range(40):
        assert client.post("/account/reset-password/", {"login": "alice"}).status_code == 429
    hits = Event.objects.filter(tag="account:ratelimit:hit")
    assert hits.count() == 1
    assert hits.get().extra == {
        "limit": "password-reset:ip",
        "rate": "5/hour",
        "once_per_seconds": 3600,
    }
    other = client.post("/account/reset-password/", {"login": "alice"}, REMOTE_ADDR="10.3.3.3")
    assert other.status_code == 200
