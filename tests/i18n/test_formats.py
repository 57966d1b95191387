"""Dates and numbers follow the page's language; English keeps the ISO-like dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from strongroom.events.models import Event

MOMENT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
TEMPLATE = Template(
    '{{ when|date:"SHORT_DATE_FORMAT" }}|{{ when|date:"SHORT_DATETIME_FORMAT" }}|'
    "{{ size|filesizeformat }}|{{ ratio }}"
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "2026-03-04|2026-03-04 05:06|1.5\xa0KB|0.25"),
        ("fr", "04/03/2026|04/03/2026 05:06|1,5\xa0Kio|0,25"),
        ("de", "04.03.2026|04.03.2026 05:06|1,5\xa0KB|0,25"),
    ],
)
def test_dates_and_numbers_follow_the_language(language: str, expected: str) -> None:
    with translation.override(language):
        rendered = TEMPLATE.render(Context({"when": MOMENT, "size": 1536, "ratio": 0.25}))
    assert rendered == expected


@pytest.mark.django_db
def test_security_history_dates_follow_the_language(signed_in, user) -> None:  # type: ignore[no-untyped-def]
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    Event.objects.filter(user=user).update(created=when)
    german = signed_in.get("/manage/account/history/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert when.strftime("%d.%m.%Y %H:%M:%S") in german
    english = signed_in.get("/manage/account/history/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert when.strftime("%Y-%m-%d %H:%M:%S") in english
