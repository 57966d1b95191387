"""Second factors in Chromium against the real server, with CDP's virtual authenticator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import expect

from tests.e2e.server import LiveServer, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "tawny-owl-lantern-93"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("mfa-live") / "data") as live:
        yield live


class Session:
    """One browser context with its own virtual authenticator."""

    def __init__(self, browser, server: LiveServer):
        self.server = server
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable")
        self.authenticator = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "usb",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )["authenticatorId"]

    def go(self, path: str) -> None:
        self.page.goto(self.server.base_url + path)

    def credentials(self) -> list[dict]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator})[
            "credentials"
        ]

    def keep_only(self, credential: dict) -> None:
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.authenticator})
        self.cdp.send(
            "WebAuthn.addCredential",
            {"authenticatorId": self.authenticator, "credential": credential},
        )

    def password_login(self, username: str) -> None:
        self.go("/account/login/")
        self.page.get_by_label("Username or email address").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in", exact=True).click()
        self.page.wait_for_load_state()

    def logout(self) -> None:
        self.page.get_by_role("button", name="Log out").click()
        self.page.wait_for_url(re.compile(r"/$"))

    def signed_in_as(self, username: str) -> bool:
        self.go("/manage/account/")
        return f"Signed in as {username}." in self.page.content()

    def add_key(self, label: str, *, passkey: bool = False) -> None:
        self.go("/manage/account/webauthn-provision")
        self.page.get_by_label("Name for this key").fill(label)
        if passkey:
            self.page.get_by_label(re.compile("Use it as a passkey")).check()
        self.page.get_by_role("button", name="Register the key").click()
        self.page.wait_for_url(re.compile(r"/manage/account/(recovery-codes/)?$"))

    def close(self) -> None:
        self.context.close()
        # The pages run under the strict CSP: no inline script or style was needed.
        assert not [m for m in self.console if "Content Security Policy" in m], self.console


@pytest.fixture
def session(browser, server):
    opened = Session(browser, server)
    yield opened
    opened.close()


def _recovery_codes(page) -> list[str]:
    return [c.strip() for c in page.locator("ul.recovery-codes code").all_inner_texts()]


def test_two_security_keys_each_sign_in_and_one_is_removed(session: Session, server):
    server.create_user("keyholder", "keyholder@example.org", PASSWORD)
    session.password_login("keyholder")
    session.add_key("First key")
    assert len(_recovery_codes(session.page)) == 8  # first factor: codes shown once
    (first,) = session.credentials()
    # A second physical key: the authenticator forgets the first (a key already registered
    # is excluded, as it should be), registers the second, and both are kept for later.
    session.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": session.authenticator})
    session.add_key("Second key")
    (second,) = session.credentials()
    page = session.page
    assert "“Second key” was added" in page.content()
    table = page.locator("#two-factor-methods").inner_text()
    assert "First key" in table and "Second key" in table

    for credential in (first, second):
        session.keep_only(credential)
        session.logout()
        session.password_login("keyholder")
        assert page.url.endswith("/account/two-factor/")
        assert not session.page.locator("text=Signed in as").count()
        page.get_by_role("button", name="Use your security key").click()
        page.wait_for_url(re.compile(r"/manage/account/$"))
        assert "Signed in as keyholder." in page.content()
    rows = page.locator("#two-factor-methods tbody tr").all_inner_texts()
    key_rows = [r for r in rows if "security key" in r]
    assert len(key_rows) == 2 and not any("Never" in r for r in key_rows)

    # A copied key (counter going backwards) is refused.
    server.execute_sql("UPDATE mfa_securitykey SET sign_count = 1000000")
    session.logout()
    session.password_login("keyholder")
    page.get_by_role("button", name="Use your security key").click()
    page.wait_for_url(re.compile(r"/account/webauthn-authenticate/validate$"))
    assert "signature counter went backwards" in page.content()
    server.execute_sql("UPDATE mfa_securitykey SET sign_count = 0")
    ((extra,),) = server.execute_sql(
        "SELECT extra FROM events_event WHERE tag = 'account:login:failure'"
        " ORDER BY id DESC LIMIT 1"
    )
    assert "cloned_key" in str(extra)
    page.get_by_role("button", name="Use your security key").click()
    page.wait_for_url(re.compile(r"/manage/account/$"))

    # Remove the second key, typing its name.
    page.get_by_role("link", name="Remove Second key").click()
    page.get_by_label("Type the key's name to confirm").fill("Second key")
    page.get_by_role("button", name="Remove the key").click()
    page.wait_for_url(re.compile(r"/manage/account/$"))
    table = page.locator("#two-factor-methods").inner_text()
    assert "First key" in table and "Second key" not in table


def test_a_passkey_signs_in_without_a_password(session: Session, server):
    server.create_user("passkeyuser", "passkeyuser@example.org", PASSWORD)
    session.password_login("passkeyuser")
    session.add_key("Laptop", passkey=True)
    assert session.credentials()[0]["isResidentCredential"] is True
    session.go("/manage/account/")
    assert "Laptop (passkey)" in session.page.locator("#two-factor-methods").inner_text()
    session.logout()
    session.go("/account/login/")
    session.page.get_by_role("button", name="Sign in with a passkey").click()
    session.page.wait_for_url(re.compile(r"/manage/account/$"))
    assert "Signed in as passkeyuser." in session.page.content()


def test_totp_setup_login_replay_and_recovery_code(session: Session, server):
    server.create_user("otpuser", "otpuser@example.org", PASSWORD)
    page = session.page
    session.password_login("otpuser")
    session.go("/manage/account/totp-provision")
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    shown = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert secret == shown
    otp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(otp.now())
    page.get_by_role("button", name="Verify and turn on").click()
    page.wait_for_url(re.compile(r"/manage/account/recovery-codes/$"))
    codes = _recovery_codes(page)
    assert len(codes) == 8
    assert page.get_by_role("link", name="Download the codes").count() == 1
    expect(page.get_by_role("button", name="Copy the codes")).to_be_visible()

    # Sign in with the next step's code (the current one was spent on setup).
    next_code = otp.at(time.time() + 30)
    session.logout()
    session.password_login("otpuser")
    assert page.url.endswith("/account/two-factor/")
    page.get_by_label("Code from your authenticator app").fill(next_code)
    page.get_by_role("button", name="Verify", exact=True).click()
    page.wait_for_url(re.compile(r"/manage/account/$"))
    assert "New sign-in to your account" in "\n".join(
        p.read_text(errors="replace") for p in server.outbox()
    )

    # The same code again is refused.
    session.logout()
    session.password_login("otpuser")
    page.get_by_label("Code from your authenticator app").fill(next_code)
    page.get_by_role("button", name="Verify", exact=True).click()
    assert "This code was already used" in page.content()

    # A recovery code signs in once, then is burned.
    page.locator("summary").click()
    page.get_by_label("Recovery code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    page.wait_for_url(re.compile(r"/manage/account/$"))
    assert "7 recovery codes left" in page.content()
    assert "7 unused" in page.locator("#two-factor-methods").inner_text()
    session.logout()
    session.password_login("otpuser")
    page.locator("summary").click()
    page.get_by_label("Recovery code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Use recovery code").click()
    assert "This recovery code was already used" in page.content()


def test_by_ip_address_the_login_page_explains_security_keys_and_links_to_the_name(
    session: Session, server
):
    """Issue 21, item 17: Chromium refuses WebAuthn on an IP address ("This is an invalid
    domain."); the page says so before and after the attempt, in words, with a link."""
    port = server.base_url.rsplit(":", 1)[1]
    page = session.page
    page.goto(f"http://127.0.0.1:{port}/account/login/")
    notice = page.locator("#webauthn-needs-name")
    expect(notice).to_contain_text("by its IP address (127.0.0.1)")
    link = notice.get_by_role("link", name="Open this page on the site's name")
    assert link.get_attribute("href") == f"{server.base_url}/account/login/"
    page.get_by_role("button", name="Sign in with a passkey").click()
    error = page.locator("[data-webauthn-error]")
    expect(error).to_contain_text("Your browser refused to use a security key on this address")
    assert "invalid domain" not in error.inner_text()
    link.click()
    page.wait_for_url(f"{server.base_url}/account/login/")
    assert not page.locator("#webauthn-needs-name").count()


def test_registering_a_key_twice_says_what_happened(session: Session, server):
    server.create_user("twicekey", "twicekey@example.org", PASSWORD)
    session.password_login("twicekey")
    session.add_key("Only key")
    session.go("/manage/account/webauthn-provision")
    page = session.page
    page.get_by_label("Name for this key").fill("Same key again")
    page.get_by_role("button", name="Register the key").click()
    error = page.locator("[data-webauthn-error]")
    expect(error).to_contain_text("This security key is already registered to your account.")
    assert "InvalidStateError" not in error.inner_text()
    assert len(session.credentials()) == 1
