"""Adding and removing factors: preconditions, recovery codes, events, emails, policy."""

import re
import time

import pytest
from django.core import mail

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.accounts.models import Email
from strongroom.accounts.services import SESSION_AUTH_AT_KEY
from strongroom.events.models import Event
from strongroom.mfa import recovery, totp
from strongroom.mfa.models import RecoveryCode, SecurityKey, TOTPDevice
from strongroom.mfa.services import authenticator, common, queries, security_keys
from strongroom.mfa.services import recovery_codes as codes_service
from strongroom.mfa.services.challenges import relying_party
from strongroom.web.actor import actor_from

pytestmark = pytest.mark.django_db


def _secret_from(page: str) -> str:
    match = re.search(r'data-secret="([A-Z2-7]+)"', page)
    assert match
    return match.group(1)


def _tags(user):
    return list(
        Event.objects.filter(user=user).order_by("created", "id").values_list("tag", flat=True)
    )


def test_setting_up_totp_shows_qr_and_secret_then_issues_recovery_codes(
    signed_in, user, django_capture_on_commit_callbacks
):
    page = signed_in.get("/manage/account/totp-provision").content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    assert '<label for="id_code">' in page
    secret = _secret_from(page)
    # Reloading the page keeps the same secret until it is confirmed.
    assert _secret_from(signed_in.get("/manage/account/totp-provision").content.decode()) == secret
    assert not queries.has_second_factor(user)
    code = totp.code_at_step(secret, totp.time_step(time.time()))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post("/manage/account/totp-provision", {"code": code})
    assert response.status_code == 302 and response["Location"] == "/manage/account/recovery-codes/"
    assert queries.has_second_factor(user)
    device = TOTPDevice.objects.get(user=user)
    assert secret not in device.secret  # encrypted at rest
    page = signed_in.get("/manage/account/recovery-codes/")
    assert page["Cache-Control"] == "no-store"
    shown = re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", page.content.decode())
    assert len(shown) == 8
    assert b"Download the codes" in page.content and b"copy-recovery-codes" in page.content
    stored = list(RecoveryCode.objects.filter(user=user))
    assert all(any(recovery.check_code(c, r.code_hash) for r in stored) for c in shown)
    assert not any(c in r.code_hash for c in shown for r in stored)
    # Shown once.
    again = signed_in.get("/manage/account/recovery-codes/").content.decode()
    assert not re.findall(r"<li><code>", again) and "8 unused recovery codes" in again
    assert _tags(user)[-2:] == [
        "account:two_factor:method_added",
        "account:recovery_codes:generated",
    ]
    subjects = [m.subject for m in mail.outbox]
    assert "[Strongroom] A second factor was added to your account" in subjects
    assert "[Strongroom] New recovery codes were generated" in subjects
    manage = signed_in.get("/manage/account/").content.decode()
    assert "Authenticator app" in manage and "Remove the authenticator app" in manage


def test_a_wrong_code_does_not_activate_totp(signed_in, user):
    signed_in.get("/manage/account/totp-provision")
    response = signed_in.post("/manage/account/totp-provision", {"code": "000000x"})
    assert response.status_code == 400
    assert not queries.has_second_factor(user)


def test_adding_a_factor_needs_a_verified_primary_email(signed_in, user):
    Email.objects.filter(user=user).update(verified=False)
    response = signed_in.get("/manage/account/totp-provision")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    response = signed_in.post("/manage/account/webauthn-provision/options")
    assert response.status_code == 400
    assert "Verify your primary email" in response.json()["error"]


def test_adding_a_factor_needs_a_recent_password(signed_in, user):
    session = signed_in.session
    session[SESSION_AUTH_AT_KEY] = time.time() - 3600
    session.save()
    for url in [
        "/manage/account/totp-provision",
        "/manage/account/webauthn-provision",
        "/manage/account/recovery-codes/",
    ]:
        response = signed_in.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/reauthenticate/")


def test_the_service_itself_refuses_without_recent_reauthentication(rf, user):
    request = rf.get("/")
    request.user = user
    request.session = {SESSION_AUTH_AT_KEY: time.time() - 3600}  # type: ignore[assignment]
    actor = actor_from(request)
    rp = relying_party(request)
    with pytest.raises(common.ReauthenticationNeeded):
        authenticator.start_totp_provisioning(actor)
    with pytest.raises(common.ReauthenticationNeeded):
        security_keys.webauthn_registration_options(actor, request.session, rp, passkey=False)
    with pytest.raises(common.ReauthenticationNeeded):
        authenticator.remove_totp(actor, request.session)
    # A session that never confirmed a password is no fresher than a stale one.
    with pytest.raises(common.ReauthenticationNeeded):
        authenticator.start_totp_provisioning(Actor(user=user, session=True))


def test_factor_services_refuse_an_actor_without_an_account(db):
    for actor in (Actor(ip="192.0.2.1"), Actor.operator()):
        with pytest.raises(NotPermitted):
            authenticator.start_totp_provisioning(actor)
        with pytest.raises(NotPermitted):
            authenticator.remove_totp(actor, None)
        with pytest.raises(NotPermitted):
            codes_service.regenerate_recovery_codes(actor)


def test_webauthn_options_ask_for_no_attestation_and_the_request_host(signed_in, user):
    response = signed_in.post("/manage/account/webauthn-provision/options", HTTP_HOST="localhost")
    options = response.json()
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == user.username
    passkey = signed_in.post(
        "/manage/account/webauthn-provision/options", {"passkey": "on"}, HTTP_HOST="localhost"
    ).json()
    assert passkey["authenticatorSelection"]["residentKey"] == "required"
    assert passkey["authenticatorSelection"]["userVerification"] == "required"


def test_rp_id_can_be_configured(signed_in, settings):
    settings.WEBAUTHN_RP_ID = "example.org"
    settings.WEBAUTHN_RP_NAME = "Example"
    options = signed_in.post("/manage/account/webauthn-provision/options").json()
    assert options["rp"] == {"id": "example.org", "name": "Example"}


def _with_totp(user):
    from strongroom.mfa import secrets_box
    from tests.mfa.conftest import SECRET

    TOTPDevice.objects.create(user=user, secret=secrets_box.seal(SECRET), confirmed=True)


def test_removing_the_last_factor_turns_2fa_off_and_emails(
    signed_in, user, django_capture_on_commit_callbacks
):
    _with_totp(user)
    RecoveryCode.objects.create(user=user, code_hash="x")
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post("/manage/account/totp-provision/delete")
    assert response.status_code == 302
    assert not queries.has_second_factor(user)
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert _tags(user)[-1] == "account:two_factor:method_removed"
    assert "removed from your account" in mail.outbox[-1].subject
    assert "now off" in mail.outbox[-1].body


def test_removing_the_last_factor_is_refused_when_policy_requires_2fa(signed_in, user, settings):
    settings.REQUIRE_2FA = "all"
    _with_totp(user)
    signed_in.post("/manage/account/totp-provision/delete")
    assert queries.has_second_factor(user)
    assert "requires two-factor" in signed_in.get("/manage/account/").content.decode()
    # With a second method, one of them may go.
    SecurityKey.objects.create(user=user, label="Blue key", credential_id="abc", public_key="x")
    signed_in.post("/manage/account/totp-provision/delete")
    assert not TOTPDevice.objects.filter(user=user).exists()
    response = signed_in.post(
        f"/manage/account/webauthn-provision/delete/{SecurityKey.objects.get().pk}",
        {"key_id": SecurityKey.objects.get().pk, "confirm_label": "Blue key"},
    )
    assert response.status_code == 400
    assert SecurityKey.objects.filter(user=user).exists()


def test_removing_a_key_needs_its_label_typed(signed_in, user):
    key = SecurityKey.objects.create(user=user, label="Blue key", credential_id="a", public_key="x")
    SecurityKey.objects.create(user=user, label="Spare", credential_id="b", public_key="x")
    url = f"/manage/account/webauthn-provision/delete/{key.pk}"
    page = signed_in.get(url).content.decode()
    assert "Type the key&#x27;s name to confirm" in page
    response = signed_in.post(url, {"key_id": key.pk, "confirm_label": "blue"})
    assert response.status_code == 400 and SecurityKey.objects.filter(pk=key.pk).exists()
    response = signed_in.post(url, {"key_id": key.pk, "confirm_label": "Blue key"})
    assert response.status_code == 302 and not SecurityKey.objects.filter(pk=key.pk).exists()


def test_regenerating_recovery_codes_voids_the_old_ones(signed_in, user):
    _with_totp(user)
    old = recovery.generate_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=recovery.hash_code(c)) for c in old]
    )
    response = signed_in.post("/manage/account/recovery-codes/")
    assert response["Location"] == "/manage/account/recovery-codes/"
    page = signed_in.get("/manage/account/recovery-codes/").content.decode()
    new = re.findall(r"<li><code>([0-9a-f-]{19})</code></li>", page)
    stored = list(RecoveryCode.objects.filter(user=user))
    assert len(stored) == 8
    assert not any(recovery.check_code(c, r.code_hash) for c in old for r in stored)
    assert all(any(recovery.check_code(c, r.code_hash) for r in stored) for c in new)
    assert _tags(user)[-1] == "account:recovery_codes:generated"


def test_the_help_page_explains_biometrics_and_phishing(client):
    page = client.get("/help/two-factor/").content.decode()
    assert "fingerprint" in page and "Touch ID" in page
    assert "resist phishing" in page and "can be phished" in page


def test_adding_or_removing_a_factor_ends_every_other_session(signed_in, user, password):
    from django.test import Client

    other = Client()
    assert (
        other.post("/account/login/", {"login": user.username, "password": password}).status_code
        == 302
    )
    assert other.get("/manage/account/").status_code == 200
    page = signed_in.get("/manage/account/totp-provision").content.decode()
    code = totp.code_at_step(_secret_from(page), totp.time_step(time.time()))
    signed_in.post("/manage/account/totp-provision", {"code": code})
    assert queries.has_second_factor(user)
    # The browser that set the factor up stays signed in; the other one is signed out.
    assert signed_in.get("/manage/account/").status_code == 200
    assert other.get("/manage/account/").status_code == 302
    added = Event.objects.filter(tag="account:two_factor:method_added").latest("id")
    assert added.extra["sessions_ended"] == 1
