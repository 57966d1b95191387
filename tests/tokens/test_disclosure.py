"""The secret-scanning endpoint, tested with a real ECDSA P-256 key pair."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.tokens import services
from strongroom.tokens.models import ApiToken

URL = "/_/secrets/disclose-token"


@pytest.fixture
def scanner_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.DISCLOSURE_PUBLIC_KEYS = json.dumps(
        {"public_keys": [{"key_identifier": "key-1", "key": pem.decode(), "is_current": True}]}
    )
    return private


def _post(client, body: bytes, private, key_id="key-1"):
    signature = base64.b64encode(private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    return client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=key_id,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )


@pytest.mark.django_db(transaction=True)
def test_valid_report_revokes_emails_and_records(client, user, scanner_key, mailoutbox):
    _token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    body = json.dumps(
        [
            {"token": raw, "type": "strongroom_api_token", "url": "https://example.com/leak"},
            {"token": "strongroom-unknown", "type": "strongroom_api_token", "url": "x"},
        ]
    ).encode()
    response = _post(client, body, scanner_key)
    assert response.status_code == 200
    labels = [item["label"] for item in response.json()]
    assert labels == ["true_positive", "false_positive"]
    assert not ApiToken.objects.exists()
    event = Event.objects.get(tag="account:api_token:removed_leak")
    assert event.extra["url"] == "https://example.com/leak"
    leak_mail = next(m for m in mailoutbox if "found published" in m.subject)
    assert "https://example.com/leak" in leak_mail.body


@pytest.mark.django_db
def test_forged_signature_is_refused_and_revokes_nothing(client, user, scanner_key):
    _token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    body = json.dumps([{"token": raw, "type": "t", "url": "u"}]).encode()
    forger = ec.generate_private_key(ec.SECP256R1())
    response = _post(client, body, forger)
    assert response.status_code == 400
    assert ApiToken.objects.exists()


@pytest.mark.django_db
def test_signed_body_cannot_be_swapped(client, user, scanner_key):
    _token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    signed = json.dumps([]).encode()
    signature = base64.b64encode(scanner_key.sign(signed, ec.ECDSA(hashes.SHA256()))).decode()
    body = json.dumps([{"token": raw, "type": "t", "url": "u"}]).encode()
    response = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER="key-1",
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )
    assert response.status_code == 400
    assert ApiToken.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER": "nope", "HTTP_GITHUB_PUBLIC_KEY_SIGNATURE": "!!"}],
)
def test_unsigned_or_garbage_reports_are_400(client, scanner_key, headers):
    response = client.post(URL, b"[]", content_type="application/json", **headers)
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, json.dumps([{"token": "strongroom-" + "A" * 20_000, "url": "x"}]).encode()],
)
def test_hostile_signed_reports_are_answered_cleanly(client, scanner_key, body):
    response = _post(client, body, scanner_key)
    assert response.status_code in (200, 400)
