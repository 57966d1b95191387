"""Issue 2, items 5 and 6: the Sessions page and the re-authentication guard."""

import pytest
from django.test import Client, override_settings

from strongroom.accounts.models import SessionRecord
from strongroom.events.models import Event
from tests.conftest import log_in, make_auth_stale
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


def test_sessions_page_lists_browser_ip_and_last_seen(user):
    mine, other = Client(HTTP_USER_AGENT=FIREFOX), Client(HTTP_USER_AGENT=CHROME)
    log_in(mine, "alice", REMOTE_ADDR="192.0.2.10")
    log_in(other, "alice", REMOTE_ADDR="198.51.100.7")
    page = mine.get("/manage/account/sessions/").content.decode()
    assert page.count('class="session-row"') == 2
    assert "Firefox 128 on Linux" in page and "Chrome 126 on Windows" in page
    assert "192.0.2.10" in page and "198.51.100.7" in page
    assert "(this browser)" in page
    assert "Last seen" in page


def test_ending_another_session_signs_it_out(user):
    mine, other = Client(), Client()
    log_in(mine, "alice")
    log_in(other, "alice")
    theirs = SessionRecord.objects.exclude(pk=mine.session["strongroom_sid"]).get()
    response = mine.post("/manage/account/sessions/", {"session_id": str(theirs.pk)}, follow=True)
    assert b"The session was ended." in response.content
    assert other.get("/manage/account/").status_code == 302
    assert mine.get("/manage/account/").status_code == 200
    event = Event.objects.get(tag="account:session:revoked")
    assert event.extra["session"] == str(theirs.pk)


@pytest.mark.parametrize(
    "session_id",
    ["", "not-a-uuid", "x" * 5000, "00000000-0000-0000-0000-000000000000"],
    ids=["empty", "not-uuid", "huge", "unknown-uuid"],
)
def test_ending_a_bogus_session_gives_a_message(signed_in, session_id):
    response = signed_in.post("/manage/account/sessions/", {"session_id": session_id}, follow=True)
    assert response.status_code == 200
    assert b"That session has already ended." in response.content


def test_a_user_cannot_end_someone_elses_session(signed_in, db):
    from tests.factories import UserFactory

    UserFactory(username="bob")
    bob = Client()
    log_in(bob, "bob")
    record = SessionRecord.objects.get(user__username="bob")
    signed_in.post("/manage/account/sessions/", {"session_id": str(record.pk)})
    assert SessionRecord.objects.filter(pk=record.pk).exists()
    assert bob.get("/manage/account/").status_code == 200


@override_settings(SESSION_COOKIE_AGE=3600)
def test_expired_sessions_are_not_listed(user):
    from datetime import timedelta

    from django.utils import timezone

    client = Client()
    log_in(client, "alice")
    SessionRecord.objects.create(user=user, last_seen=timezone.now() - timedelta(hours=2))
    page = client.get("/manage/account/sessions/").content.decode()
    assert page.count('class="session-row"') == 1


# --- re-authentication ------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.accounts.reauth_urls")
def test_fresh_login_passes_the_guard(signed_in):
    assert signed_in.get("/test/sensitive/").content == b"sensitive GET"


@override_settings(ROOT_URLCONF="tests.accounts.reauth_urls")
def test_stale_login_is_asked_for_the_password_then_returns(signed_in):
    make_auth_stale(signed_in, 15 * 60 + 5)
    response = signed_in.get("/test/sensitive/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/account/reauthenticate/?next=%2Ftest%2Fsensitive%2F%3Fx%3D1"
    page = signed_in.get(response["Location"])
    assert b"Please confirm your password" in page.content
    wrong = signed_in.post(
        "/account/reauthenticate/", {"password": "nope-nope", "next": "/test/sensitive/?x=1"}
    )
    assert wrong.status_code == 400
    assert b"The password is not correct." in wrong.content
    right = signed_in.post(
        "/account/reauthenticate/", {"password": PASSWORD, "next": "/test/sensitive/?x=1"}
    )
    assert right["Location"] == "/test/sensitive/?x=1"
    assert signed_in.get("/test/sensitive/").content == b"sensitive GET"
    assert Event.objects.filter(tag="account:reauthenticate").exists()


@override_settings(ROOT_URLCONF="tests.accounts.reauth_urls")
def test_just_under_fifteen_minutes_needs_no_password(signed_in):
    make_auth_stale(signed_in, 14 * 60)
    assert signed_in.get("/test/sensitive/").status_code == 200


@override_settings(ROOT_URLCONF="tests.accounts.reauth_urls")
def test_a_stale_post_is_not_run_and_goes_back_to_its_page(signed_in):
    make_auth_stale(signed_in)
    response = signed_in.post("/test/sensitive/", HTTP_REFERER="http://testserver/manage/account/")
    assert response.status_code == 302
    assert response["Location"].endswith("next=http%3A%2F%2Ftestserver%2Fmanage%2Faccount%2F")
    evil = signed_in.post("/test/sensitive/", HTTP_REFERER="https://evil.example/")
    assert evil["Location"].endswith("next=%2Fmanage%2Faccount%2F")


@override_settings(ROOT_URLCONF="tests.accounts.reauth_urls")
def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get("/test/sensitive/")
    assert response["Location"].startswith("/account/login/")


def test_reauthentication_does_not_follow_foreign_next(signed_in):
    response = signed_in.post(
        "/account/reauthenticate/", {"password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/manage/account/"


def test_reauthentication_attempts_are_rate_limited(signed_in):
    for _attempt in range(10):
        signed_in.post("/account/reauthenticate/", {"password": "nope-nope"})
    response = signed_in.post("/account/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 429
