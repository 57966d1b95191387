"""The login and authenticator-app flow in Chromium, with the browser set to French or
German: every page on the way is in that language, with no English left."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest

from tests.e2e.server import LiveServer, running_server
from tests.i18n.english_left import english_left

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "heron-quartz-meadow-58"
LABELS = {
    "fr": {
        "login": "Nom d'utilisateur ou adresse e-mail",
        "password": "Mot de passe",
        "log_in": "Se connecter",
        "code": "Code de votre application d'authentification",
        "turn_on": "Vérifier et activer",
        "verify": "Vérifier",
        "log_out": "Se déconnecter",
        "signed_in": "Connecté en tant que",
    },
    "de": {
        "login": "Benutzername oder E-Mail-Adresse",
        "password": "Passwort",
        "log_in": "Anmelden",
        "code": "Code aus Ihrer Authenticator-App",
        "turn_on": "Prüfen und aktivieren",
        "verify": "Prüfen",
        "log_out": "Abmelden",
        "signed_in": "Angemeldet als",
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("i18n-flow") / "data") as live:
        yield live


@pytest.mark.parametrize("language", ["fr", "de"])
def test_login_and_authenticator_flow_in_the_browser_language(  # type: ignore[no-untyped-def]
    browser, server, language: str
) -> None:
    words = LABELS[language]
    username = f"reader-{language}"
    server.create_user(username, f"{username}@example.org", PASSWORD)
    context = browser.new_context(
        java_script_enabled=False, locale=f"{language}-{language.upper()}"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    visited: list[str] = []

    def check() -> None:
        assert page.locator("html").get_attribute("lang") == language, page.url
        left = english_left(page.content(), language)
        assert not left, f"English left on {page.url}: {left}"
        visited.append(page.url.removeprefix(server.base_url))

    def log_in() -> None:
        page.goto(server.base_url + "/account/login/")
        check()
        page.get_by_label(words["login"]).fill(username)
        page.get_by_label(words["password"], exact=True).fill(PASSWORD)
        page.get_by_role("button", name=words["log_in"], exact=True).click()
        page.wait_for_load_state()

    try:
        log_in()
        page.goto(server.base_url + "/manage/account/totp-provision")
        check()
        otp = pyotp.TOTP(page.locator("#totp-secret").get_attribute("data-secret"))
        page.get_by_label(words["code"]).fill(otp.now())
        page.get_by_role("button", name=words["turn_on"]).click()
        page.wait_for_url(re.compile(r"/manage/account/recovery-codes/$"))
        check()
        page.get_by_role("button", name=words["log_out"]).click()
        page.wait_for_url(re.compile(r"/$"))
        check()

        log_in()
        assert page.url.endswith("/account/two-factor/")
        check()
        page.get_by_label(words["code"]).fill(otp.at(time.time() + 30))
        page.get_by_role("button", name=words["verify"], exact=True).click()
        page.wait_for_url(re.compile(r"/manage/account/$"))
        check()
        assert words["signed_in"] in page.content()
    finally:
        context.close()
    assert visited == [
        "/account/login/",
        "/manage/account/totp-provision",
        "/manage/account/recovery-codes/",
        "/",
        "/account/login/",
        "/account/two-factor/",
        "/manage/account/",
    ]
