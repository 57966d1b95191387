"""The login and two-factor flow and the account page, in French and in German, with no
English left on them; and the English pages they are checked against."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD
from tests.i18n.english_left import english_left, english_left_in_text, visible_text
from tests.mfa.conftest import current_code, wrong_code

pytestmark = pytest.mark.django_db

EXPECTED = {
    "fr": {
        "login": "Se connecter",
        "bad_password": "Le nom d'utilisateur ou le mot de passe est incorrect.",
        "second_step": "Code de votre application d'authentification",
        "bad_code": "Le code n'est pas valide.",
        "account": "Adresses e-mail",
        "email": "Nouvelle connexion à votre compte",
    },
    "de": {
        "login": "Anmelden",
        "bad_password": "Benutzername oder Passwort ist falsch.",
        "second_step": "Code aus Ihrer Authenticator-App",
        "bad_code": "Der Code ist ungültig.",
        "account": "E-Mail-Adressen",
        "email": "Neue Anmeldung bei Ihrem Konto",
    },
}


def _page(response, language: str) -> str:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    assert re.search(rf'<html lang="{language}"', html), "page not rendered in " + language
    left = english_left(html, language)
    assert not left, f"English left on {response.request['PATH_INFO']}: {left}"
    return visible_text(html)


@pytest.mark.parametrize("language", ["fr", "de"])
def test_login_two_factor_and_account_pages_have_no_english_left(
    language: str, totp_user, django_capture_on_commit_callbacks
) -> None:
    words = EXPECTED[language]
    client = Client(HTTP_ACCEPT_LANGUAGE=f"{language};q=1, en;q=0.5")

    login = client.get("/account/login/")
    assert words["login"] in _page(login, language)

    refused = client.post("/account/login/", {"login": totp_user.username, "password": "nope"})
    assert words["bad_password"] in _page(refused, language)

    step = client.post("/account/login/", {"login": totp_user.username, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == "/account/two-factor/"
    assert words["second_step"] in _page(client.get("/account/two-factor/"), language)

    wrong = client.post("/account/two-factor/", {"code": wrong_code()})
    assert wrong.status_code == 400 and words["bad_code"] in _page(wrong, language)

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/account/two-factor/", {"code": current_code()})
    assert done.status_code == 302 and done["Location"] == "/manage/account/"

    account = client.get("/manage/account/")
    assert account.status_code == 200 and words["account"] in _page(account, language)
    # The new-device notice is written in the language the user signed in with.
    assert [m.subject for m in mail.outbox] == [f"[Strongroom] {words['email']}"]
    assert not english_left_in_text(mail.outbox[0].body, language)


def test_the_same_pages_in_english_are_caught_by_the_check(totp_user) -> None:
    """The check is real: on the English pages it finds the English strings."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    login = client.get("/account/login/").content.decode()
    assert '<html lang="en"' in login
    assert "Log in" in english_left(login, "fr") and english_left(login, "de")
    client.post("/account/login/", {"login": totp_user.username, "password": PASSWORD})
    client.post("/account/two-factor/", {"code": current_code()})
    account = client.get("/manage/account/").content.decode()
    assert "Email addresses" in english_left(account, "fr")


def test_an_unknown_language_falls_back_to_english() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="pt-BR").get("/account/login/").content.decode()
    assert '<html lang="en"' in page and "Log in" in visible_text(page)


def test_regional_variants_get_their_language() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="de-CH, en;q=0.1").get("/account/login/").content.decode()
    assert '<html lang="de"' in page and "Anmelden" in visible_text(page)


ACCOUNT_PAGES = [
    "/manage/account/",
    "/manage/account/sessions/",
    "/manage/account/history/",
    "/manage/account/totp-provision",
    "/manage/account/webauthn-provision",
    "/manage/account/recovery-codes/",
    "/manage/account/password/",
    "/manage/projects/",
    "/manage/account/tokens/",
    "/help/two-factor/",
    "/no-such-page/",
]
ANONYMOUS_PAGES = ["/", "/account/register/", "/account/reset-password/", "/account/login/"]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_account_and_help_pages_have_no_english_left(language: str, signed_in) -> None:  # type: ignore[no-untyped-def]
    for path in ACCOUNT_PAGES:
        response = signed_in.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        assert response.status_code in {200, 404}, path
        _page(response, language)


@pytest.mark.parametrize("language", ["fr", "de"])
def test_anonymous_pages_have_no_english_left(language: str, client) -> None:  # type: ignore[no-untyped-def]
    for path in ANONYMOUS_PAGES:
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        assert response.status_code == 200, path
        _page(response, language)
