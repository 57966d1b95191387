import pytest

from strongroom.accounts.models import SessionRecord
from strongroom.events.models import Event

pytestmark = pytest.mark.django_db


def test_login_with_username_rotates_session_and_records_event(client, user, password):
    client.get("/account/login/")
    before = client.cookies.get("strongroom_session")
    response = client.post("/account/login/", {"login": "ALICE", "password": password})
    assert response.status_code == 302
    after = client.cookies["strongroom_session"].value
    assert before is None or before.value != after
    assert SessionRecord.objects.filter(user=user).count() == 1
    event = Event.objects.get(tag="account:login:success")
    assert event.user == user and event.extra == {"method": "password"}


def test_failed_login_for_unknown_username_is_recorded_without_the_name(client):
    response = client.post("/account/login/", {"login": "nobody-here", "password": "x" * 10})
    assert response.status_code == 400
    assert b"The username or password is not correct." in response.content
    event = Event.objects.get(tag="account:login:failure")
    assert event.user is None
    assert event.extra["reason"] == "unknown_user"
    assert "nobody-here" not in str(event.extra)
    assert len(event.extra["login_hash"]) == 32
