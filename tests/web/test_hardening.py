"""Issue 2, item 9: CSRF, security headers, HTTPS-only extras, the admin."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import log_in, signed_in_with_second_factor
from tests.e2e.server import cli_env
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]

STATE_CHANGING = [
    ("/account/register/", {"username": "x", "email": "x@example.org"}),
    ("/account/login/", {"login": "alice", "password": PASSWORD}),
    ("/account/logout/", {}),
    ("/account/verify-email/", {"token": "t"}),
    ("/account/reset-password/", {"login": "alice"}),
    ("/account/reauthenticate/", {"password": PASSWORD}),
    ("/manage/account/emails/", {"action": "add", "email": "y@example.org"}),
    ("/manage/account/password/", {"current_password": PASSWORD}),
    ("/manage/account/sessions/", {"session_id": "x"}),
]


@pytest.mark.parametrize(("path", "data"), STATE_CHANGING)
def test_posts_without_a_csrf_token_are_refused_with_a_clear_message(user, path, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(path, data)
    assert response.status_code == 403
    assert "This form was not sent with a valid security token." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_posts_with_the_token_from_the_form_go_through(user):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/account/login/")
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(
        "/account/login/",
        {"login": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_security_headers_on_every_page(client):
    for path in ["/", "/account/login/", "/account/register/", "/no-such-page/"]:
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "Strict-Transport-Security" not in response  # plain HTTP: no HSTS


def test_hsts_when_served_over_https(client):
    response = client.get("/account/login/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_static_files_carry_the_csp_too(client):
    response = client.get("/static/strongroom/site.css")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_not_found_is_a_friendly_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"There is nothing at this address." in response.content


# --- the Django admin ------------------------------------------------------------------------


def test_admin_is_for_staff_only(client):
    UserFactory(username="plain")
    anonymous = client.get("/admin/records/", follow=True)
    assert anonymous.redirect_chain[-1][0].startswith("/account/login/")
    assert client.get("/admin/").status_code == 404  # the console does not announce itself
    plain = Client()
    log_in(plain, "plain")
    assert plain.get("/admin/records/").status_code == 302
    assert plain.get("/admin/records/accounts/user/").status_code == 302
    assert plain.get("/admin/").status_code == 404
    boss = signed_in_with_second_factor(UserFactory(username="boss", staff=True))
    assert boss.get("/admin/records/").status_code == 200
    assert boss.get("/admin/records/accounts/user/").status_code == 200
    assert boss.get("/admin/").status_code == 200


def test_admin_has_no_login_form_of_its_own(client):
    response = client.get("/admin/records/login/?next=/admin/records/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=/admin/records/"


def test_admin_path_is_configurable(tmp_path):
    script = (
        "import django, os\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='localhost')  # testserver is not an allowed host\n"
        "print(c.get('/backstage/records/').status_code, c.get('/admin/records/').status_code)\n"
    )
    env = cli_env(  # embedded: the run's STRONGROOM_* (a scale-out database) dropped
        PYTHONPATH=str(REPO / "src"),
        DJANGO_SETTINGS_MODULE="strongroom.settings",
        STRONGROOM_DATA_DIR=str(tmp_path),
        STRONGROOM_ADMIN_PATH="/backstage/",
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["302", "404"]
