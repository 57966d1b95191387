"""Bad input never produces a 500: random text into the registration and login forms."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom import ratelimit

# Any text a browser could send (surrogates cannot be encoded, so no browser sends them),
# long enough to cross every length limit.
any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300
) | st.sampled_from(["", " ", "\x00", "a" * 5000, "ａｌｉｃｅ", "alice@example.org", "\u202e"])  # noqa: RUF001

fuzz = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _clear_limits() -> None:
    ratelimit._backend().limiter.storage.reset()  # type: ignore[attr-defined]


@pytest.mark.django_db
@fuzz
@given(username=any_text, email=any_text, password=any_text, confirm=any_text)
def test_registration_never_errors(user, username, email, password, confirm):
    _clear_limits()
    response = Client().post(
        "/account/register/",
        {
            "username": username,
            "email": email,
            "new_password": password,
            "confirm_password": confirm,
        },
    )
    assert response.status_code in {200, 400, 429}


@pytest.mark.django_db
@fuzz
@given(login=any_text, password=any_text, html=st.booleans())
def test_login_never_errors(user, login, password, html):
    _clear_limits()
    extra = {"HTTP_ACCEPT": "text/html"} if html else {}
    response = Client().post("/account/login/", {"login": login, "password": password}, **extra)
    assert response.status_code in {302, 400, 429}


@pytest.mark.django_db
@fuzz
@given(data=st.dictionaries(any_text, any_text, max_size=5))
def test_arbitrary_form_fields_never_error(user, data):
    client = Client()
    for path in [
        "/account/register/",
        "/account/login/",
        "/account/reset-password/",
        "/account/verify-email/",
    ]:
        _clear_limits()
        assert client.post(path, data).status_code < 500
    assert client.get("/account/verify-email/", data).status_code < 500
