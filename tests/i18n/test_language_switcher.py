"""The footer's language switcher: a plain form, CSRF-protected, a cookie, no JavaScript."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client

from tests.e2e.server import LiveServer, running_server


@pytest.mark.django_db
def test_switcher_posts_and_sets_the_language_cookie() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/account/login/").content.decode()
    assert 'action="/language/"' in page and 'name="csrfmiddlewaretoken"' in page
    assert '<label for="language-select">Language</label>' in page
    response = client.post("/language/", {"language": "fr", "next": "/account/login/"})
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr" and cookie["max-age"] == 365 * 24 * 3600
    assert cookie["samesite"] == "Lax" and cookie["httponly"]
    # The cookie wins over the browser's Accept-Language.
    assert '<html lang="fr"' in client.get("/account/login/").content.decode()


@pytest.mark.django_db
def test_switcher_refuses_a_post_without_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/language/", {"language": "de"})
    assert response.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_switcher_ignores_unknown_languages_and_foreign_redirects() -> None:
    client = Client()
    unknown = client.post("/language/", {"language": "xx", "next": "/account/login/"})
    assert unknown.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in unknown.cookies
    away = client.post("/language/", {"language": "de", "next": "https://evil.example/"})
    assert away.status_code == 302 and away["Location"] == "/"
    # A GET (a link, a prefetch) changes nothing.
    got = client.get("/language/?language=fr")
    assert got.status_code == 302 and settings.LANGUAGE_COOKIE_NAME not in got.cookies


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("i18n-live") / "data") as live:
        yield live


@pytest.mark.e2e
@pytest.mark.browser
def test_footer_switcher_changes_the_language_without_javascript(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.base_url + "/account/login/")
    assert page.locator("html").get_attribute("lang") == "en"
    footer = page.locator("footer")
    footer.get_by_label("Language").select_option("fr")
    footer.get_by_role("button", name="Change language").click()
    page.wait_for_url(server.base_url + "/account/login/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Se connecter", exact=True).count() == 1
    # The choice is a cookie: it holds on the next page, signed in or not.
    page.goto(server.base_url + "/account/register/")
    assert page.locator("html").get_attribute("lang") == "fr"
    footer.get_by_label("Langue").select_option("de")
    footer.get_by_role("button", name="Changer de langue").click()
    page.wait_for_url(server.base_url + "/account/register/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert footer.get_by_label("Sprache").input_value() == "de"


@pytest.mark.e2e
@pytest.mark.browser
def test_browser_language_is_used_without_a_choice(browser, server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    try:
        page = context.new_page()
        page.goto(server.base_url + "/account/login/")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.get_by_role("button", name="Anmelden").count() >= 1
    finally:
        context.close()
