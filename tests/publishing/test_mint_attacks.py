"""Every forged, stolen or misused OIDC token is refused with a sentence and an audit event.

The issuer is a real HTTP server (tests/publishing/issuer.py); the index fetches its
discovery document and JWKS over HTTP like any other issuer's.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from strongroom.events.models import Event
from strongroom.publishing.models import Issuer, MintedToken, UsedJti
from tests.publishing.conftest import audience, mint
from tests.publishing.issuer import LocalIssuer, github_claims, new_key

pytestmark = pytest.mark.django_db


def refused(response, fragment: str, status: int = 422) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert fragment in body["detail"], body
    assert body["errors"][0]["description"] == body["detail"]
    event = Event.objects.filter(tag="publishing:token:refused").latest("sequence")
    assert fragment in event.extra["reason"]
    assert not MintedToken.objects.exists()


def test_a_valid_github_token_mints_an_upload_token(client, issuer, publisher):
    response = mint(client, issuer.sign(github_claims(), audience=audience()))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["token"].startswith("strongroom-")
    assert abs(body["expires"] - (time.time() + 900)) < 30
    event = Event.objects.get(tag="publishing:token:minted")
    assert event.project == publisher.project
    assert event.extra["claims"]["repository"] == "octo/sample"
    assert event.extra["claims"]["run_id"] == "4242"


def test_wrong_signature_is_refused(client, issuer, publisher):
    forged = issuer.sign(github_claims(), audience=audience(), key=new_key())
    refused(mint(client, forged), "signature does not verify")


def test_unknown_kid_is_refused_after_one_refresh(client, issuer, publisher):
    before = issuer.jwks_requests
    Issuer.objects.update(jwks_fetched=None)
    forged = issuer.sign(github_claims(), audience=audience(), key=new_key(), kid="other")
    refused(mint(client, forged), "does not publish")
    assert issuer.jwks_requests == before + 1  # the cache was refreshed once for the kid


def test_a_rotated_key_is_picked_up_from_the_jwks(client, issuer, publisher):
    issuer.published["key-2"] = new_key()
    Issuer.objects.update(jwks_fetched=None)
    token = issuer.sign(
        github_claims(), audience=audience(), key=issuer.published["key-2"], kid="key-2"
    )
    assert mint(client, token).status_code == 200


def test_wrong_issuer_is_refused(client, issuer, publisher):
    token = issuer.sign(github_claims(), audience=audience(), iss="https://evil.example")
    refused(mint(client, token), "is not a trusted issuer")


def test_disabled_issuer_is_refused(client, issuer, publisher):
    Issuer.objects.filter(url=issuer.url).update(enabled=False)
    refused(mint(client, issuer.sign(github_claims(), audience=audience())), "not a trusted")


def test_wrong_audience_is_refused(client, issuer, publisher):
    refused(mint(client, issuer.sign(github_claims(), audience="pypi")), "audience is not")


def test_expired_token_is_refused(client, issuer, publisher):
    token = issuer.sign(github_claims(), audience=audience(), now=time.time() - 3600)
    refused(mint(client, token), "has expired")


def test_not_yet_valid_token_is_refused(client, issuer, publisher):
    token = issuer.sign(
        github_claims(), audience=audience(), nbf=int(time.time()) + 600, iat=int(time.time())
    )
    refused(mint(client, token), "not valid yet")


def test_replayed_jti_is_refused(client, issuer, publisher):
    token = issuer.sign(github_claims(), audience=audience())
    assert mint(client, token).status_code == 200
    response = mint(client, token)
    assert response.status_code == 422
    assert "already exchanged" in response.json()["detail"]
    assert MintedToken.objects.count() == 1
    lock = UsedJti.objects.get()
    assert lock.keep_until > lock.keep_until.now(lock.keep_until.tzinfo) + timedelta(minutes=4)


def test_a_token_valid_for_years_is_refused(client, issuer, publisher):
    token = issuer.sign(github_claims(), audience=audience(), exp=10**15)
    refused(mint(client, token), "valid for too long")


def test_token_without_jti_is_refused(client, issuer, publisher):
    refused(mint(client, issuer.sign(github_claims(), audience=audience(), jti=None)), "jti")


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        (github_claims(repository="evil/sample"), "No trusted publisher matches"),
        (github_claims(workflow="other.yml"), "No trusted publisher matches"),
        (github_claims(environment="staging"), "No trusted publisher matches"),
        (github_claims(environment=None), "No trusted publisher matches"),
        (github_claims(event_name="pull_request_target"), "pull_request_target"),
    ],
    ids=["repository", "workflow", "environment", "no-environment", "pull_request_target"],
)
def test_claims_of_another_identity_are_refused(client, issuer, publisher, claims, fragment):
    refused(mint(client, issuer.sign(claims, audience=audience())), fragment)


def test_a_workflow_in_another_repository_with_the_same_name_is_refused(client, issuer, publisher):
    claims = github_claims()
    claims["workflow_ref"] = "evil/x/.github/workflows/release.yml@refs/heads/main"
    claims["job_workflow_ref"] = claims["workflow_ref"]
    refused(mint(client, issuer.sign(claims, audience=audience())), "No trusted publisher")


@pytest.mark.parametrize(
    ("garbage", "fragment"),
    [
        (b"<html>not a key set</html>", "did not answer JSON"),
        ([1, 2, 3], "did not answer a JSON object"),
        ({"keys": "nope"}, "not a JSON Web Key Set"),
        ({"keys": [{"kid": "key-1", "kty": "RSA", "n": "!!", "e": "AQAB"}]}, "cannot read"),
        ({"keys": [{"kid": "key-1", "kty": "XYZ"}]}, "cannot read"),
        (b"x" * (600 * 1024), "too much data"),
    ],
    ids=["html", "array", "keys-not-a-list", "bad-modulus", "unknown-kty", "huge"],
)
def test_garbage_jwks_is_a_clear_503(client, issuer, publisher, garbage, fragment):
    Issuer.objects.update(jwks={}, jwks_fetched=None)
    issuer.garbage_jwks = garbage
    refused(mint(client, issuer.sign(github_claims(), audience=audience())), fragment, status=503)


def test_issuer_down_is_a_clear_503_and_mints_nothing(client, issuer, publisher):
    Issuer.objects.update(jwks={}, jwks_fetched=None)
    token = issuer.sign(github_claims(), audience=audience())
    issuer.stop()
    refused(mint(client, token), "could not be reached", status=503)
    assert not UsedJti.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"token": 5}', b'{"token": "a.b.c"}', b'{"token": "x"}'],
)
def test_malformed_requests_get_a_sentence_not_a_500(client, publisher, body):
    response = client.post("/_/oidc/mint-token", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"]


def test_hs256_key_confusion_is_refused(client, issuer, publisher):
    import jwt as pyjwt

    payload = {
        "iss": issuer.url,
        "aud": audience(),
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        "jti": "confused",
        **github_claims(),
    }
    token = pyjwt.encode(payload, "s" * 32, algorithm="HS256", headers={"kid": issuer.kid})
    refused(mint(client, token), "accepted algorithm")


def test_other_issuer_cannot_sign_for_this_one(client, issuer, publisher):
    with LocalIssuer() as other:
        token = other.sign(github_claims(), audience=audience(), iss=issuer.url)
    refused(mint(client, token), "signature does not verify")


def test_refusals_are_limited_per_address_and_audited_once(client, issuer, publisher):
    for _ in range(30):
        assert mint(client, "x").status_code == 422
    events = Event.objects.filter(tag="publishing:token:refused").count()
    good = issuer.sign(github_claims(), audience=audience())
    for _ in range(3):
        response = mint(client, good)
        assert response.status_code == 429
        assert "Too many refused token requests" in response.json()["detail"]
    assert Event.objects.filter(tag="publishing:token:refused").count() == events + 1
    assert not MintedToken.objects.exists()


def test_pep_807_discovery_by_the_hash_of_the_upload_path(client):
    import hashlib

    for path in ("/legacy/", "/legacy/\n"):  # the PEP's text, and its worked example
        key = hashlib.sha256(path.encode()).hexdigest()
        response = client.get(f"/.well-known/pytp/{key}")
        assert response.status_code == 200, path
        assert response["Content-Type"] == "application/vnd.pypi.pytp.v1+json"
        document = response.json()
        assert document["audience-endpoint"].endswith("/_/oidc/audience")
        assert document["mint-token-endpoint"].endswith("/_/oidc/mint-token")
    other = hashlib.sha256(b"/other-index/legacy/").hexdigest()
    response = client.get(f"/.well-known/pytp/{other}")
    assert response.status_code == 404 and response.content == b""
    key = hashlib.sha256(b"/legacy/").hexdigest()
    assert client.get(f"/.well-known/pytp/{key}", HTTP_ACCEPT="text/html").status_code == 406


def test_discovery_endpoints(client, publisher):
    assert client.get("/_/oidc/audience").json() == {"audience": audience()}
    document = client.get("/.well-known/pytp").json()
    assert document["mint-token-endpoint"].endswith("/_/oidc/mint-token")
    assert document["audience-endpoint"].endswith("/_/oidc/audience")
    assert set(document["features"]) == {"single-use-token", "multi-use-token"}
    response = client.get("/_/oidc/mint-token")
    assert response.status_code == 405 and response["Content-Type"] == "application/problem+json"
