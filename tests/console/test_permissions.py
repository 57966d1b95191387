"""The console's permission matrix: every console URL (walked from its URL conf) against
anonymous visitors, a normal user, staff without a second factor, staff whose session
skipped it, and staff signed in with it. Nobody but the last gets a page or changes a thing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern

from strongroom.accounts.actors import Actor
from strongroom.console import urls as console_urls
from strongroom.console.models import RecoveryRequest
from strongroom.events.models import Event
from strongroom.tokens.services import create_token
from tests.console.conftest import Console
from tests.factories import UserFactory
from tests.governance.conftest import client_for, give_totp

pytestmark = pytest.mark.django_db

PATTERNS: list[URLPattern] = [p for p in console_urls.urlpatterns if isinstance(p, URLPattern)]
# Views that answer GET with a page; every other console URL is an action (POST only).
PAGES = {"index", "users", "user", "projects", "project", "recoveries", "recovery"}


def _urls(console: Console) -> list[tuple[str, str]]:
    token, _raw = create_token(
        Actor.of(console.target), name="ci", project_names=None, expires_at=None
    )
    recovery = RecoveryRequest.objects.create(
        user=console.target, confirm_nonce="c", cancel_nonce="x"
    )
    values = {
        "username": console.target.username,
        "token_id": str(token.pk),
        "email_id": str(console.target.emails.get().pk),
        "name": console.project.normalized_name,
        "request_id": str(recovery.pk),
    }
    made = []
    for pattern in PATTERNS:
        route = str(pattern.pattern)
        for key, value in values.items():
            for converter in ("str", "int"):
                route = route.replace(f"<{converter}:{key}>", value)
        assert "<" not in route, route
        made.append((pattern.name or "", "/" + route))
    return made


def test_the_matrix_covers_every_console_url() -> None:
    names = {p.name for p in PATTERNS}
    assert names >= PAGES
    assert len(PATTERNS) == 22


def _other_personas(db: object) -> dict[str, Client]:
    newstaff = UserFactory(username="newstaff", staff=True)
    skipped = UserFactory(username="skipper", staff=True)
    skipped_client = client_for(skipped)
    give_totp(skipped)  # added after this session signed in with the password alone
    return {
        "anonymous": Client(),
        "normal user": client_for(UserFactory(username="norma")),
        "staff without 2FA": client_for(newstaff),
        "staff, session without 2FA": skipped_client,
    }


@pytest.mark.parametrize("method", ["get", "post"])
def test_nobody_but_verified_staff_reaches_the_console(console: Console, db, method) -> None:
    urls = _urls(console)
    personas = _other_personas(db)
    events = Event.objects.count()
    for persona, client in personas.items():
        for name, url in urls:
            response = getattr(client, method)(url, {"code": "123456", "reason": "x"})
            if persona in {"anonymous", "normal user"}:
                expected = 404
            elif persona == "staff without 2FA":
                expected = 302
            else:
                expected = 403
            assert response.status_code == expected, (persona, method, name, url)
            if expected == 302:
                assert response["Location"] == "/manage/account/totp-provision"
            if expected == 403:
                assert b"log in again" in response.content
    assert Event.objects.count() == events
    console.target.refresh_from_db()
    assert console.target.is_active


def test_verified_staff_get_every_page_and_actions_need_post(console: Console) -> None:
    for name, url in _urls(console):
        response = console.client.get(url)
        expected = 200 if name in PAGES else 405
        assert response.status_code == expected, (name, url)
        if expected == 200:
            assert response["Cache-Control"] == "private, no-store"


def test_every_action_without_a_code_is_refused_and_changes_nothing(console: Console) -> None:
    urls = _urls(console)
    events = Event.objects.count()
    for name, url in urls:
        if name in PAGES:
            continue
        response = console.client.post(url, {})
        assert response.status_code == 400, (name, url)
    assert Event.objects.count() == events
