"""The emails that came with attestations and private projects, in French and in German,
with no English left in their subject, text or HTML part."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tests.i18n.english_left import english_left, english_left_in_text

pytestmark = pytest.mark.django_db

BASE = {
    "site_name": "Strongroom",
    "account_url": "https://pypi.example.com/manage/account/",
    "history_url": "https://pypi.example.com/manage/account/history/",
    "when": timezone.now(),
    "user": {"username": "alice"},
}
EMAILS = [
    (
        "attestation_repository_changed",
        {
            "project": "sample",
            "previous": "github.com/acme/sample",
            "new": "github.com/evil/sample",
            "held": True,
            "settings_url": "https://pypi.example.com/manage/project/sample/attestations/",
        },
    ),
    (
        "attestation_repository_changed",
        {
            "project": "sample",
            "previous": "github.com/acme/sample",
            "new": "github.com/acme/sample-moved",
            "held": False,
            "settings_url": "https://pypi.example.com/manage/project/sample/attestations/",
        },
    ),
]


def _render(template: str, context: dict[str, object]) -> tuple[str, str, str]:
    parts = [
        render_to_string(f"notify/{template}.{ext}", context) for ext in ("subject.txt", "txt")
    ]
    return parts[0], parts[1], render_to_string(f"notify/{template}.html", context)


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize(("template", "context"), EMAILS)
def test_email_has_no_english_left(language: str, template: str, context: dict) -> None:  # type: ignore[type-arg]
    with translation.override(language):
        subject, text, html = _render(template, {**BASE, **context})
    assert "sample" in subject
    assert not english_left_in_text(subject + "\n" + text, language), text
    assert not english_left(html, language), html


def test_the_check_finds_english_in_these_emails() -> None:
    template, context = EMAILS[0]
    with translation.override("en"):
        subject, text, _html = _render(template, {**BASE, **context})
    assert english_left_in_text(subject + "\n" + text, "fr")
