"""Issue 17: staff whose only second factor is a security key confirm console actions
with it (the login step's WebAuthn ceremony, with a challenge of the console's own), never
with a recovery code; without JavaScript the page says the key needs it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from strongroom.console.models import Suspension
from strongroom.events.models import Event
from strongroom.mfa import recovery
from strongroom.mfa.models import RecoveryCode, SecurityKey
from tests.conftest import signed_in_with_second_factor
from tests.console.softkey import SoftKey
from tests.factories import UserFactory
from tests.governance.conftest import give_totp, make_project

pytestmark = pytest.mark.django_db

SUSPEND = "/admin/users/tara/suspend"


@dataclass
class KeyStaff:
    key: SoftKey
    client: Client

    def options(self) -> dict:
        response = self.client.post("/admin/confirm-with-key")
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "private, no-store"
        return json.loads(response.content)

    def suspend(self, credential: str, reason: str = "Spam uploads") -> object:
        return self.client.post(
            SUSPEND, {"suspend-reason": reason, "suspend-credential": credential}
        )


@pytest.fixture
def key_staff(db) -> KeyStaff:
    staff = UserFactory(username="kim", staff=True)
    key = SoftKey(staff)
    key.register()
    target = UserFactory(username="tara")
    make_project("widget", target)
    return KeyStaff(key, signed_in_with_second_factor(staff))  # no app is added: a key


def _suspended() -> bool:
    return Suspension.objects.filter(user__username="tara").exists()


def test_without_javascript_the_page_says_the_key_needs_it(key_staff: KeyStaff) -> None:
    page = key_staff.client.get("/admin/users/tara/").content.decode()
    assert "This action is confirmed with your security key, which needs JavaScript" in page
    assert "data-without-javascript" in page
    # The forms wait for webauthn.js (hidden until it runs); there is no code field.
    assert 'data-webauthn="authenticate"' in page
    assert 'data-options-url="/admin/confirm-with-key"' in page
    assert "Code from your authenticator app" not in page
    assert "/static/mfa/webauthn.js" in page
    # A form posted without the key's answer (what a browser without JavaScript sends).
    response = key_staff.client.post(SUSPEND, {"suspend-reason": "Spam"})
    assert response.status_code == 400
    assert "Confirming with a security key needs JavaScript" in response.content.decode()
    assert not _suspended()


def test_the_key_confirms_one_action_and_its_answer_is_spent(key_staff: KeyStaff) -> None:
    options = key_staff.options()
    assert [c["id"] for c in options["allowCredentials"]] == [
        SecurityKey.objects.get().credential_id
    ]
    answer = key_staff.key.assertion(options)
    response = key_staff.suspend(answer)
    assert response.status_code == 302, response.content.decode()
    assert _suspended()
    (event,) = Event.objects.filter(tag="admin:user:suspend")
    assert event.actor.username == "kim" and event.extra["staff"] == "kim"
    key = SecurityKey.objects.get()
    assert key.sign_count == 1 and key.last_used is not None

    # The same answer again: its challenge was single use.
    response = key_staff.client.post(
        "/admin/users/tara/reactivate", {"reactivate-credential": answer}
    )
    assert response.status_code == 400
    assert "came too late or was already used" in response.content.decode()
    assert _suspended()


def test_an_answer_to_another_challenge_or_from_another_key_is_refused(
    key_staff: KeyStaff,
) -> None:
    stale = key_staff.options()
    key_staff.options()  # a newer challenge replaces the first
    response = key_staff.suspend(key_staff.key.assertion(stale))
    assert response.status_code == 400 and "could not be verified" in response.content.decode()
    # A key of someone else's, answering this session's challenge.
    other = SoftKey(UserFactory(username="mallory"))
    other.register()
    response = key_staff.suspend(other.assertion(key_staff.options()))
    assert response.status_code == 400 and "could not be verified" in response.content.decode()
    # A copied key: the counter goes backwards.
    SecurityKey.objects.filter(user__username="kim").update(sign_count=50)
    response = key_staff.suspend(key_staff.key.assertion(key_staff.options()))
    assert response.status_code == 400 and "counter went backwards" in response.content.decode()
    assert not _suspended() and not Event.objects.filter(tag__startswith="admin:").exists()


def test_a_recovery_code_never_confirms_an_action(key_staff: KeyStaff) -> None:
    code = recovery.generate_codes()[0]
    kept = RecoveryCode.objects.create(user=key_staff.key.user, code_hash=recovery.hash_code(code))
    key_staff.options()
    for fields in (
        {"suspend-credential": code},
        {"suspend-code": code},
        {"suspend-credential": code, "suspend-code": code},
    ):
        response = key_staff.client.post(SUSPEND, {"suspend-reason": "Spam", **fields})
        assert response.status_code == 400, fields
    assert not _suspended()
    kept.refresh_from_db()
    assert kept.used_at is None  # not spent either


def test_staff_with_an_app_are_asked_for_its_code_and_not_a_recovery_code(db) -> None:
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    target = UserFactory(username="tara")
    make_project("widget", target)
    client = signed_in_with_second_factor(staff)
    page = client.get("/admin/users/tara/").content.decode()
    assert "Code from your authenticator app" in page and "data-webauthn" not in page
    code = recovery.generate_codes()[0]
    kept = RecoveryCode.objects.create(user=staff, code_hash=recovery.hash_code(code))
    response = client.post(SUSPEND, {"suspend-reason": "Spam", "suspend-code": code})
    assert response.status_code == 400
    assert not _suspended()
    kept.refresh_from_db()
    assert kept.used_at is None
    # And the key endpoint has nothing for an account without a key.
    response = client.post("/admin/confirm-with-key")
    assert response.status_code == 400 and "no security key" in response.json()["error"]
