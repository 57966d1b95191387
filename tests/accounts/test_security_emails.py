"""Issue 2, items 4 and 8: security emails (HTML + text) and the outbox email backend."""

import email
import email.policy
import logging

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client, override_settings

from strongroom.accounts.models import Email
from tests.conftest import log_in, messages_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "another-long-unusual-pass-31"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def browser(user) -> Client:
    client = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.9")
    assert log_in(client, "alice").status_code == 302
    return client


def html_of(message) -> str:
    (alternative,) = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


def assert_security_notice(message, what: str) -> None:
    """Site name, what happened, when, IP and browser, and what to do: in both parts."""
    html = html_of(message)
    for part in (message.body, html):
        assert "Strongroom" in part
        assert what in part
        assert "When" in part and "UTC" in part
        assert "203.0.113.9" in part
        assert "Firefox 128 on Linux" in part
        assert "If this wasn't you" in part or "If this wasn&#x27;t you" in part
        assert "http://localhost:8000/manage/account/" in part
    assert message.subject.startswith("[Strongroom] ")
    assert "<html" in html and "<html" not in message.body


def add_verified(user, address: str) -> Email:
    return Email.objects.create(user=user, email=address, verified=True)


def test_password_change_notifies_the_primary_address(browser, mailoutbox):
    browser.post(
        "/manage/account/password/",
        {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW},
    )
    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]
    assert message.subject == "[Strongroom] Your password was changed"
    assert_security_notice(message, "was changed")


def test_adding_an_address_notifies_the_other_verified_addresses(browser, user, mailoutbox):
    add_verified(user, "alice-work@example.org")
    Email.objects.create(user=user, email="alice-unverified@example.org")
    browser.post("/manage/account/emails/", {"action": "add", "email": "new@example.org"})
    notices = [m for m in mailoutbox if "was added" in m.subject]
    assert sorted(m.to[0] for m in notices) == ["alice-work@example.org", "alice@example.org"]
    for message in notices:
        assert_security_notice(message, "new@example.org")
    # The new address gets only its verification link.
    (link,) = messages_for("new@example.org", mailoutbox)
    assert "Verify your email address" in link.subject


def test_removing_an_address_notifies_it_and_the_others(browser, user, mailoutbox):
    other = add_verified(user, "alice-old@example.org")
    browser.post("/manage/account/emails/", {"action": "remove", "email_id": other.pk})
    assert sorted(m.to[0] for m in mailoutbox) == ["alice-old@example.org", "alice@example.org"]
    for message in mailoutbox:
        assert "was removed" in message.subject
        assert_security_notice(message, "alice-old@example.org")


def test_changing_the_primary_address_notifies_old_and_new(browser, user, mailoutbox):
    other = add_verified(user, "alice-new@example.org")
    browser.post("/manage/account/emails/", {"action": "primary", "email_id": other.pk})
    assert sorted(m.to[0] for m in mailoutbox) == ["alice-new@example.org", "alice@example.org"]
    for message in mailoutbox:
        assert_security_notice(message, "alice-new@example.org")
        assert "alice@example.org" in message.body  # the old address is named


def test_password_reset_mails_link_then_notice(user, mailoutbox):
    client = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.9")
    client.post("/account/reset-password/", {"login": "alice@example.org"})
    (request_mail,) = mailoutbox
    assert "http://localhost:8000/account/reset-password/" in request_mail.body
    link = request_mail.body.split("http://localhost:8000", 1)[1].split()[0]
    client.post(link, {"new_password": NEW, "confirm_password": NEW})
    notice = mailoutbox[-1]
    assert notice is not request_mail
    assert_security_notice(notice, "reset")


def test_no_email_leaves_when_the_action_fails(browser, mailoutbox):
    browser.post(
        "/manage/account/password/",
        {"current_password": "wrong-wrong", "new_password": NEW, "confirm_password": NEW},
    )
    assert mailoutbox == []


# --- the default backend: an outbox folder and the log ------------------------------------


@override_settings(EMAIL_BACKEND="strongroom.notify.backends.OutboxEmailBackend")
def test_outbox_backend_writes_eml_files_and_logs_subject_and_links(tmp_path, caplog):
    with override_settings(EMAIL_OUTBOX_DIR=tmp_path / "outbox"):
        message = EmailMultiAlternatives(
            subject="Verify your email address",
            body="Open https://example.org/account/verify-email/?token=abc within 6 hours.",
            to=["carol@example.org"],
        )
        message.attach_alternative("<p>html</p>", "text/html")
        with caplog.at_level(logging.INFO, logger="strongroom.notify"):
            assert message.send() == 1
    (path,) = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "carol@example.org"
    assert parsed["Subject"] == "Verify your email address"
    assert "token=abc" in parsed.get_body(("plain",)).get_content()
    assert parsed.get_body(("html",)) is not None
    assert "Verify your email address" in caplog.text
    assert "https://example.org/account/verify-email/?token=abc" in caplog.text


def test_the_default_backend_is_the_outbox():
    from strongroom import settings as product_settings

    assert product_settings.EMAIL_BACKEND == "strongroom.notify.backends.OutboxEmailBackend"
    assert product_settings.EMAIL_OUTBOX_DIR == product_settings.DATA_DIR / "outbox"
