"""Issue 2, item 4: registration, email verification, several addresses per account."""

import re
import time
from unittest import mock

import pytest
from django.core import signing

from strongroom.accounts.models import Email, User
from strongroom.events.models import Event
from tests.conftest import log_in, make_auth_stale, messages_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a-long-unusual-pass-97"
_TOKEN = re.compile(r"verify-email/\?token=([^\s\"<]+)")


def register(client, username="carol", email="carol@example.org", password=NEW_PASSWORD):
    return client.post(
        "/account/register/",
        {
            "username": username,
            "email": email,
            "new_password": password,
            "confirm_password": password,
        },
    )


def token_from(message) -> str:
    match = _TOKEN.search(message.body)
    assert match, message.body
    return match.group(1)


def test_registration_creates_an_unverified_account_and_mails_a_link(client, mailoutbox):
    response = register(client)
    assert response.status_code == 200
    assert b"Check your email" in response.content
    user = User.objects.get(username="carol")
    assert user.check_password(NEW_PASSWORD)
    email = user.emails.get()
    assert email.primary and not email.verified
    (message,) = mailoutbox
    assert message.to == ["carol@example.org"]
    assert "Verify your email address" in message.subject
    assert token_from(message)


def test_verification_link_verifies_once_and_then_dies(client, mailoutbox):
    register(client)
    token = token_from(mailoutbox[0])
    page = client.get("/account/verify-email/", {"token": token})
    assert page.status_code == 200  # a button: link scanners that only GET verify nothing
    assert not Email.objects.get().verified
    response = client.post("/account/verify-email/", {"token": token})
    assert response.status_code == 302
    assert Email.objects.get().verified
    again = client.post("/account/verify-email/", {"token": token})
    assert again.status_code == 400
    assert b"This verification link has already been used." in again.content


def test_tampered_verification_link_is_refused(client, mailoutbox):
    register(client)
    token = token_from(mailoutbox[0])
    response = client.post("/account/verify-email/", {"token": token[:-2] + "xx"})
    assert response.status_code == 400
    assert b"This verification link is not valid." in response.content
    assert not Email.objects.get().verified


def _make_token_aged(client, seconds: int, mailoutbox) -> str:
    old = signing.b62_encode(int(time.time() - seconds))
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: old):
        register(client)
    return token_from(mailoutbox[0])


def test_verification_link_expires_after_six_hours(client, mailoutbox):
    token = _make_token_aged(client, 6 * 3600 + 5, mailoutbox)
    response = client.post("/account/verify-email/", {"token": token})
    assert response.status_code == 400
    assert b"This verification link has expired. Ask for a new one." in response.content
    assert not Email.objects.get().verified


def test_verification_link_still_works_just_before_six_hours(client, mailoutbox):
    token = _make_token_aged(client, 6 * 3600 - 60, mailoutbox)
    assert client.post("/account/verify-email/", {"token": token}).status_code == 302
    assert Email.objects.get().verified


def test_resending_replaces_the_old_link_and_is_rate_limited(client, mailoutbox):
    user = UserFactory(username="dave", email__verified=False)
    log_in(client, "dave")
    email = user.emails.get()
    for _attempt in range(3):
        response = client.post(
            "/manage/account/emails/", {"action": "resend", "email_id": email.pk}, follow=True
        )
        assert b"A new verification link is on its way." in response.content
    assert len(mailoutbox) == 3
    response = client.post(
        "/manage/account/emails/", {"action": "resend", "email_id": email.pk}, follow=True
    )
    assert b"A link was sent recently. Try again in" in response.content
    assert len(mailoutbox) == 3
    assert Event.objects.filter(tag="account:ratelimit:hit").exists()
    # Only the newest link works.
    first, newest = token_from(mailoutbox[0]), token_from(mailoutbox[-1])
    replaced = client.post("/account/verify-email/", {"token": first})
    assert b"replaced by a newer one" in replaced.content
    assert client.post("/account/verify-email/", {"token": newest}).status_code == 302


def test_an_account_can_hold_several_addresses_with_one_primary(client, mailoutbox):
    user = UserFactory(username="erin")
    log_in(client, "erin")
    response = client.post(
        "/manage/account/emails/", {"action": "add", "email": "erin2@example.org"}
    )
    assert response.status_code == 302
    added = user.emails.get(email="erin2@example.org")
    assert not added.primary and not added.verified
    # A new address cannot become primary before it is verified.
    response = client.post(
        "/manage/account/emails/", {"action": "primary", "email_id": added.pk}, follow=True
    )
    assert b"Verify this address before making it primary." in response.content
    token = token_from(messages_for("erin2@example.org", mailoutbox)[0])
    client.post("/account/verify-email/", {"token": token})
    client.post("/manage/account/emails/", {"action": "primary", "email_id": added.pk})
    assert user.emails.get(primary=True).email == "erin2@example.org"
    assert user.emails.filter(primary=True).count() == 1
    # The primary address cannot be removed; the old one can.
    response = client.post(
        "/manage/account/emails/", {"action": "remove", "email_id": added.pk}, follow=True
    )
    assert b"You cannot remove your primary address." in response.content
    old = user.emails.get(email="erin@example.org")
    client.post("/manage/account/emails/", {"action": "remove", "email_id": old.pk})
    assert list(user.emails.values_list("email", flat=True)) == ["erin2@example.org"]


def test_adding_an_address_in_use_elsewhere_is_refused(client):
    UserFactory(username="frank", email="frank@example.org")
    UserFactory(username="gina")
    log_in(client, "gina")
    response = client.post(
        "/manage/account/emails/", {"action": "add", "email": "FRANK@example.org"}
    )
    assert response.status_code == 400
    assert b"This email address is already in use." in response.content


def test_email_changes_ask_for_the_password_when_it_was_entered_long_ago(client):
    user = UserFactory(username="hana")
    log_in(client, "hana")
    make_auth_stale(client)
    response = client.post(
        "/manage/account/emails/",
        {"action": "add", "email": "attacker@example.org"},
        HTTP_REFERER="http://testserver/manage/account/",
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/?next=")
    assert not user.emails.filter(email="attacker@example.org").exists()


def test_a_foreign_or_absurd_email_id_gets_a_message_not_an_error(client):
    other = UserFactory(username="ivan")
    UserFactory(username="jane")
    log_in(client, "jane")
    for email_id in [str(other.emails.get().pk), "9" * 40, "-1", "abc", "１"]:  # noqa: RUF001
        response = client.post(
            "/manage/account/emails/", {"action": "remove", "email_id": email_id}, follow=True
        )
        assert response.status_code == 200
        assert b"That email address is not on your account." in response.content
    assert other.emails.exists()


def test_registration_rejects_overlong_fields_with_messages(client):
    response = register(client, username="k" * 500, email="x" * 300 + "@example.org")
    assert response.status_code == 400
    assert response.content.count(b'class="error"') >= 2
    assert not User.objects.exists()


def test_registered_user_can_log_in_by_username_but_email_only_once_verified(client, mailoutbox):
    register(client)
    assert log_in(client, "carol@example.org", NEW_PASSWORD).status_code == 400
    assert log_in(client, "carol", NEW_PASSWORD).status_code == 302
    client.post("/account/logout/")
    client.post("/account/verify-email/", {"token": token_from(mailoutbox[0])})
    assert log_in(client, "CAROL@example.org", NEW_PASSWORD).status_code == 302


def test_registration_race_for_a_name_gets_a_message(client, monkeypatch):
    """Two sign-ups that both passed the form: the second gets a sentence, not a 500."""
    from strongroom.accounts.forms import RegistrationForm
    from strongroom.accounts.usernames import validate_username

    # As if the other sign-up committed between the form's check and ours.
    monkeypatch.setattr(
        RegistrationForm,
        "clean_username",
        lambda self: validate_username(self.cleaned_data["username"]),
    )
    UserFactory(username="carol", email="someone@example.org")
    response = register(client)
    assert response.status_code == 400
    assert b"This username or email address is already taken." in response.content
    assert User.objects.count() == 1
