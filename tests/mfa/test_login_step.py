"""The second login step through the real views: TOTP, recovery codes, limits, expiry."""

import time

import pytest
from django.core import mail
from django.test import Client

from strongroom.events.models import Event
from strongroom.mfa.models import RecoveryCode, TOTPDevice
from strongroom.mfa.services import second_step
from tests.mfa.conftest import current_code, wrong_code

pytestmark = pytest.mark.django_db


def _failures():
    return list(
        Event.objects.filter(tag="account:login:failure")
        .order_by("created", "id")
        .values_list("extra", flat=True)
    )


def test_password_alone_leaves_the_user_anonymous(half_signed_in):
    page = half_signed_in.get("/account/two-factor/")
    assert page.status_code == 200
    assert b"Authenticator app" in page.content and b"recovery code" in page.content
    assert half_signed_in.get("/manage/account/").status_code == 302
    assert half_signed_in.get("/manage/account/sessions/").status_code == 302
    assert not Event.objects.filter(tag="account:login:success").exists()


def test_a_valid_totp_code_completes_the_login(
    half_signed_in, totp_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = half_signed_in.post("/account/two-factor/", {"code": current_code()})
    assert response.status_code == 302 and response["Location"] == "/manage/account/"
    assert half_signed_in.get("/manage/account/").status_code == 200
    event = Event.objects.get(tag="account:login:success")
    assert event.extra == {"method": "totp"} and event.user == totp_user
    assert TOTPDevice.objects.get(user=totp_user).last_used_step is not None
    # A phishable factor from a browser never seen before: the user is told.
    assert [m.subject for m in mail.outbox] == ["[Strongroom] New sign-in to your account"]
    assert "IP address" in mail.outbox[0].body and "history" in mail.outbox[0].body


def test_a_known_browser_gets_no_new_device_email(
    client, totp_user, password, django_capture_on_commit_callbacks
):
    for _attempt in range(2):
        client.post("/account/login/", {"login": totp_user.username, "password": password})
        # Wait out the used step so the next login has a fresh code.
        TOTPDevice.objects.filter(user=totp_user).update(last_used_step=None)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/account/two-factor/", {"code": current_code()})
        assert response.status_code == 302
        client.post("/account/logout/")
    assert len([m for m in mail.outbox if "New sign-in" in m.subject]) == 1


def test_a_replayed_totp_code_is_refused(client, totp_user, password):
    code = current_code()
    client.post("/account/login/", {"login": totp_user.username, "password": password})
    assert client.post("/account/two-factor/", {"code": code}).status_code == 302
    client.post("/account/logout/")
    client.post("/account/login/", {"login": totp_user.username, "password": password})
    response = client.post("/account/two-factor/", {"code": code})
    assert response.status_code == 400
    assert b"This code was already used" in response.content
    assert _failures()[-1]["reason"] == "reused_totp"


def test_the_sixth_wrong_code_within_five_minutes_is_limited(half_signed_in, totp_user):
    for _attempt in range(5):
        response = half_signed_in.post("/account/two-factor/", {"code": wrong_code()})
        assert response.status_code == 400
        assert b"The code is not valid" in response.content
    response = half_signed_in.post("/account/two-factor/", {"code": current_code()})
    assert response.status_code == 429
    assert b"Too many two-factor attempts" in response.content
    assert int(response["Retry-After"]) > 0
    assert [e["reason"] for e in _failures()] == ["invalid_totp"] * 5
    assert Event.objects.filter(tag="account:ratelimit:hit", user=totp_user).exists()
    # Recovery codes share the limit.
    response = half_signed_in.post("/account/recovery-code/", {"recovery_code": "x"})
    assert response.status_code == 429


def test_a_code_from_a_drifting_clock_says_so(half_signed_in):
    response = half_signed_in.post("/account/two-factor/", {"code": current_code(offset=6)})
    assert response.status_code == 400
    assert "clock may be off" in response.content.decode()


def test_the_half_signed_in_state_expires_after_five_minutes(half_signed_in):
    session = half_signed_in.session
    state = session[second_step.PENDING_KEY]
    state["at"] = time.time() - 301
    session[second_step.PENDING_KEY] = state
    session.save()
    response = half_signed_in.post("/account/two-factor/", {"code": current_code()})
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    assert half_signed_in.get("/manage/account/").status_code == 302


def test_the_second_step_is_bound_to_its_session(half_signed_in):
    other = Client()
    response = other.post("/account/two-factor/", {"code": current_code()})
    assert response.status_code == 302 and response["Location"] == "/account/login/"


def test_a_recovery_code_signs_in_once(
    client, totp_user, codes, password, django_capture_on_commit_callbacks
):
    client.post("/account/login/", {"login": totp_user.username, "password": password})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/recovery-code/", {"recovery_code": codes[0].upper()})
    assert response.status_code == 302
    assert Event.objects.get(tag="account:login:success").extra == {"method": "recovery_code"}
    used = Event.objects.get(tag="account:recovery_codes:used")
    assert used.extra == {"remaining": 7}
    subjects = {m.subject for m in mail.outbox}
    assert "[Strongroom] A recovery code was used to sign in" in subjects
    assert "[Strongroom] New sign-in to your account" in subjects
    client.post("/account/logout/")
    client.post("/account/login/", {"login": totp_user.username, "password": password})
    response = client.post("/account/recovery-code/", {"recovery_code": codes[0]})
    assert response.status_code == 400
    assert b"already used" in response.content
    assert _failures()[-1]["reason"] == "used_recovery_code"
    response = client.post("/account/recovery-code/", {"recovery_code": "0000-1111-2222-3333"})
    assert _failures()[-1]["reason"] == "invalid_recovery_code"


def test_few_recovery_codes_left_are_announced(client, totp_user, codes, password):
    RecoveryCode.objects.filter(user=totp_user).exclude(
        pk__in=RecoveryCode.objects.filter(user=totp_user).order_by("-id")[:2]
    ).delete()
    client.post("/account/login/", {"login": totp_user.username, "password": password})
    page = client.get("/account/two-factor/").content.decode()
    assert "You have 2 recovery codes left" in page
    client.post("/account/two-factor/", {"code": current_code()})
    page = client.get("/manage/account/").content.decode()
    assert 'id="recovery-codes-low"' in page and "2 recovery codes left" in page


def test_users_without_a_second_factor_log_in_with_the_password(client, user, password):
    response = client.post("/account/login/", {"login": user.username, "password": password})
    assert response["Location"] == "/manage/account/"
