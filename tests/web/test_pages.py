"""Pages work without JavaScript, label every field, and translate every string."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import log_in

SRC = Path(__file__).resolve().parents[2] / "src" / "strongroom"
PAGE_TEMPLATES = sorted(
    p for p in SRC.glob("*/templates/**/*.html") if "/notify/" not in p.as_posix()
)


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.buttons_without_text = 0
        self._in_button = False
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [k for k in named if k.startswith("on")]
        if "style" in named:
            self.styles.append(tag)
        if tag in {"input", "select", "textarea"} and named.get("type") not in {
            "hidden",
            "submit",
        }:
            self.controls.append(named)
        if tag == "label" and named.get("for"):
            self.label_for.add(str(named["for"]))
        if tag == "script":
            self.scripts.append(named)
        if tag == "button":
            self._in_button, self._button_text = True, ""

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self._button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False
            if not self._button_text.strip():
                self.buttons_without_text += 1


def _check_page(html: str) -> None:
    parser = _Fields()
    parser.feed(html)
    assert "<form" in html, "expected a form on this page"
    for control in parser.controls:
        assert control.get("id") in parser.label_for or control.get("aria-label"), control
    # The only JavaScript allowed is the WebAuthn ceremonies' own file; every form on
    # the page still posts without it.
    assert all(
        str(script.get("src", "")).startswith("/static/mfa/") for script in parser.scripts
    ), "pages must work without JavaScript"
    assert parser.handlers == [] and parser.styles == [], "no inline script or style (CSP)"
    assert parser.buttons_without_text == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/account/register/",
        "/account/login/",
        "/account/reset-password/",
        "/manage/account/",
        "/manage/account/password/",
        "/account/reauthenticate/",
        "/manage/account/sessions/",
    ],
)
def test_every_field_has_a_label_and_no_script(client, user, path):
    if path.startswith(("/manage/", "/account/reauth")):
        log_in(client, "alice")
        log_in(type(client)(), "alice")  # a second session, so Sessions has a button
    response = client.get(path)
    assert response.status_code == 200
    _check_page(response.content.decode())


def _untranslated_text(source: str) -> list[str]:
    """Words a template shows that are not inside a translate tag or a variable."""
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "", source, flags=re.S)
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "", text, flags=re.S)
    text = re.sub(r"<(script|style|code)\b.*?</\1>", "", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)  # tags and their attributes
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z']+", text) if w not in {"UTC"}]


@pytest.mark.parametrize("template", PAGE_TEMPLATES, ids=lambda p: p.name)
def test_templates_translate_every_visible_string(template):
    assert _untranslated_text(template.read_text()) == []


@pytest.mark.parametrize("template", PAGE_TEMPLATES, ids=lambda p: p.name)
def test_templates_translate_attributes_people_read(template):
    source = template.read_text()
    for attr in re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', source):
        assert attr.startswith("{%") or attr.startswith("{{") or not attr.strip(), attr


def test_the_checker_catches_untranslated_text():
    assert _untranslated_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert _untranslated_text('<p>{% translate "Hello" %}</p>') == []
