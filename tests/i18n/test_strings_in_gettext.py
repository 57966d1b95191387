"""Every string a person reads goes through gettext: templates and Python messages."""

from __future__ import annotations

import pytest

from tests.i18n.scanner import (
    SRC,
    python_files,
    template_files,
    untranslated_in_python,
    untranslated_in_template,
)


def test_every_template_translates_its_text_and_readable_attributes() -> None:
    found = []
    for path in template_files():
        for piece in untranslated_in_template(path.read_text("utf-8"), html=path.suffix == ".html"):
            found.append(f"{path.relative_to(SRC)}: {piece!r}")
    assert not found, "strings outside {% translate %}:\n" + "\n".join(found)


def test_every_python_message_goes_through_gettext() -> None:
    found = []
    for path in python_files():
        for line, text in untranslated_in_python(path.read_text("utf-8")):
            found.append(f"{path.relative_to(SRC)}:{line}: {text!r}")
    assert not found, "messages outside gettext:\n" + "\n".join(found)


# The scanner itself: each of these would reach a reader untranslated.
@pytest.mark.parametrize(
    "template",
    [
        "<p>Welcome back</p>",
        '<a href="/" title="Home page">{% translate "Home" %}</a>',
        '<nav aria-label="Main menu"></nav>',
        '<input name="q" placeholder="Search projects">',
        '<img src="logo.svg" alt="Strongroom logo">',
        '<input type="submit" value="Save changes">',
        "{% if user %}<span>{{ user }} is signed in</span>{% endif %}",
    ],
)
def test_scanner_finds_text_outside_gettext(template: str) -> None:
    assert untranslated_in_template(template)


@pytest.mark.parametrize(
    "template",
    [
        '{% load i18n %}<p>{% translate "Welcome back" %}</p>',
        '<nav aria-label="{% translate "Main menu" %}"></nav>',
        "<p>{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}</p>",
        "<pre>pip install --index-url https://example.com/simple/ PACKAGE</pre>",
        '<button name="action" value="accept">{% translate "Accept" %}</button>',
        "{# A comment for translators #}<p>{{ value }} · SHA256</p>",
        "<script>const label = 'Copied';</script>",
    ],
)
def test_scanner_accepts_translated_or_untranslatable_text(template: str) -> None:
    assert untranslated_in_template(template) == []


def test_scanner_reads_email_text_templates_line_by_line() -> None:
    text = '{% load i18n %}{% translate "Hello" %}\nThanks for joining\n{{ url }}\n'
    assert untranslated_in_template(text, html=False) == ["Thanks for joining"]


def test_scanner_finds_python_messages_outside_gettext() -> None:
    source = """
from django.contrib import messages
raise ValidationError("That name is taken.")
messages.success(request, "Saved.")
messages.error(request, f"Could not save {name}.")
HttpResponse("Nothing here", status=404)
raise UploadError("File too large " + limit)
name = forms.CharField(label="Your name", help_text="Letters only.")
return render(request, "page.html", {"title": "Log in", "form": form})
"""
    lines = [line for line, _ in untranslated_in_python(source)]
    assert lines == [3, 4, 5, 6, 7, 8, 8, 9]


def test_scanner_accepts_gettext_and_machine_responses() -> None:
    source = """
raise ValidationError(_("That name is taken."))
messages.success(request, _("Saved %(name)s.") % {"name": name})
HttpResponse("OK\\n", content_type="text/plain")
name = forms.CharField(label=_("Your name"), help_text=gettext_lazy("Letters only."))
raise BackupError("operators read this in the CLI")
return render(request, "page.html", {"title": _("Log in"), "next": "/manage/"})
"""
    assert untranslated_in_python(source) == []
