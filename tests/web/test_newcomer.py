"""Issue 21, item 17: the newcomer path (README, security keys by IP address, wording).

createadmin without a terminal is in tests/e2e/test_cli.py, and the browser's own WebAuthn
errors in Chromium in tests/mfa/test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from strongroom import server as server_module

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
SETTINGS = (REPO / "src/strongroom/settings.py").read_text()


def _section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_sends_people_to_localhost():
    assert "http://localhost:8000/" in _section(README, "Run it")
    assert "127.0.0.1:8000" not in README.replace("not `127.0.0.1`", "")


def test_readme_configuration_names_are_the_real_variables():
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)(?:\*)?`", _section(README, "Configuration")))
    assert names, "the section names variables"
    unprefixed = {n for n in names if not n.startswith(("STRONGROOM_", "AWS_"))}
    assert not unprefixed, unprefixed
    for name in sorted(n for n in names if n.startswith("STRONGROOM_") and not n.endswith("_")):
        read = rf'_env\w*\("{name.removeprefix("STRONGROOM_")}"'
        assert re.search(read, SETTINGS), f"{name} is not read by settings.py"


def test_granian_is_not_called_the_default():
    pyproject = (REPO / "pyproject.toml").read_text()
    for text in (pyproject, server_module.__doc__ or ""):
        assert not re.search(r"granian \(the default\)|default HTTP server \(Rust\)", text)
    assert "gunicorn (the default)" in (server_module.__doc__ or "")


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "127.0.0.1"])
def test_by_ip_address_webauthn_pages_explain_and_link_to_the_name(client, host):
    page = client.get("/account/login/", HTTP_HOST=host).content.decode()
    notice = re.search(r'<p class="warning" id="webauthn-needs-name">(.*?)</p>', page, re.S)
    assert notice, "the passkey form explains why it cannot work here"
    assert "IP address" in notice.group(1) and "localhost" in notice.group(1)
    assert 'href="http://localhost:8000/account/login/"' in notice.group(1)


@pytest.mark.django_db
def test_by_name_there_is_no_notice_but_errors_are_sentences(client):
    page = client.get("/account/login/", HTTP_HOST="localhost:8000").content.decode()
    assert "webauthn-needs-name" not in page
    messages = re.search(r'<div hidden id="webauthn-messages"(.*?)></div>', page, re.S).group(1)
    for reason in ("not-allowed", "invalid-state", "security", "not-supported", "unknown"):
        sentence = re.search(rf'data-{reason}="([^"]+)"', messages).group(1)
        assert sentence.endswith(".") and " " in sentence


@pytest.mark.django_db
def test_the_ip_notice_offers_no_link_when_the_site_has_no_name(settings, client):
    settings.BASE_URL = "http://192.0.2.7:8000"
    settings.ALLOWED_HOSTS = ["192.0.2.7"]
    page = client.get("/account/login/", HTTP_HOST="192.0.2.7:8000").content.decode()
    assert "webauthn-needs-name" in page and "STRONGROOM_BASE_URL" in page
    assert 'href="http://192.0.2.7' not in page


def test_webauthn_script_never_shows_raw_browser_errors():
    script = (REPO / "src/strongroom/mfa/static/mfa/webauthn.js").read_text()
    assert "error.message : String(error)" not in script
    for name in ("NotAllowedError", "InvalidStateError", "SecurityError", "NotSupportedError"):
        assert name in script
