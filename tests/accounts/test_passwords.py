"""Issue 2, item 4: password rules, Argon2id hashing, the breached-password check."""

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import override_settings

from strongroom.accounts.models import User
from strongroom.accounts.passwords import PasswordCandidate, breach_count

pytestmark = pytest.mark.django_db

ARGON2 = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
BREACHED = "correct-horse-battery-staple-breached"
SAFE = "a-long-unusual-pass-97"


def register(client, password, username="carol", email="carol@example.org"):
    return client.post(
        "/account/register/",
        {
            "username": username,
            "email": email,
            "new_password": password,
            "confirm_password": password,
        },
    )


def errors_for(password: str, username: str = "carol", email: str = "carol@example.org"):
    try:
        password_validation.validate_password(password, PasswordCandidate(username, email))  # type: ignore[arg-type]
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short7!", "password_too_short"),
        ("x" * 4097 + "Q9", "password_too_long"),
        ("password123", "password_too_common"),
        ("qwertyuiop", "password_too_common"),
        ("carol123", "password_too_similar"),
        ("carol@example.org", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused(password, code):
    assert code in errors_for(password)


def test_eight_and_4096_character_passwords_are_accepted():
    assert errors_for("Zq8!rW3u") == []
    assert errors_for("Zq8!rW3u" * 512) == []


@pytest.mark.parametrize(
    "password", ["short7!", "x" * 4097, "password123", "carol123", "carol@example.org"]
)
def test_registration_shows_the_password_problem(client, password):
    response = register(client, password)
    assert response.status_code == 400
    assert b'id="id_new_password_error"' in response.content
    assert not User.objects.exists()


def test_mismatched_confirmation_is_refused(client):
    response = client.post(
        "/account/register/",
        {
            "username": "carol",
            "email": "carol@example.org",
            "new_password": SAFE,
            "confirm_password": SAFE + "x",
        },
    )
    assert response.status_code == 400
    assert b"The two passwords do not match." in response.content


@override_settings(PASSWORD_HASHERS=ARGON2)
def test_passwords_are_stored_with_argon2id(client):
    assert register(client, SAFE).status_code == 200
    user = User.objects.get()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(SAFE)


# --- the breached-password check against a real local range server -----------------------


class _RangeHandler(BaseHTTPRequestHandler):
    requested: list[str] = []

    def do_GET(self) -> None:
        prefix = self.path.rsplit("/", 1)[-1]
        type(self).requested.append(self.path)
        digest = hashlib.sha1(BREACHED.encode(), usedforsecurity=False).hexdigest().upper()
        lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:1", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"]
        if self.path.startswith("/range/") and digest.startswith(prefix) and len(prefix) == 5:
            lines.append(f"{digest[5:]}:42")
        body = "\r\n".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


@pytest.fixture
def range_api() -> Iterator[str]:
    _RangeHandler.requested = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/range"
    finally:
        server.shutdown()
        server.server_close()


def test_breach_count_asks_for_the_prefix_only(range_api):
    assert breach_count(BREACHED, range_api, 3) == 42
    assert breach_count(SAFE, range_api, 3) == 0
    for path in _RangeHandler.requested:
        prefix = path.rsplit("/", 1)[-1]
        assert len(prefix) == 5  # only five hex digits of the SHA-1 leave the machine


def test_breached_password_is_refused_at_registration(client, range_api):
    with override_settings(BREACHED_PASSWORD_API_URL=range_api):
        response = register(client, BREACHED)
        assert response.status_code == 400
        assert b"has appeared in a data breach" in response.content
        assert register(client, SAFE).status_code == 200
    assert User.objects.count() == 1


def test_breach_check_is_off_by_default(client, range_api):
    assert register(client, BREACHED).status_code == 200
    assert _RangeHandler.requested == []


def test_unreachable_breach_api_fails_open(client):
    with override_settings(BREACHED_PASSWORD_API_URL="http://127.0.0.1:9/range"):
        assert register(client, SAFE).status_code == 200
