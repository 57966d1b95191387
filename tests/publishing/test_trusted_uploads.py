"""Uploading with a minted token: recorded on the file, shown, scoped, short-lived."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.packages.models import File, Project, Role
from strongroom.publishing import services
from strongroom.publishing.minting import mint_upload_token
from strongroom.publishing.models import PublishedFile, Publisher
from tests.distributions import post_upload, upload_form
from tests.publishing.conftest import audience, make_project, mint, upload_as
from tests.publishing.issuer import LocalIssuer, github_claims, gitlab_claims

pytestmark = pytest.mark.django_db(transaction=True)


def minted(client, issuer, **extra) -> str:
    response = mint(client, issuer.sign(github_claims(), audience=audience()), **extra)
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def test_upload_through_a_minted_token_records_the_publisher(client, issuer, publisher):
    response = upload_as(client, upload_form(), minted(client, issuer))
    assert response.status_code == 200, response.content
    record = PublishedFile.objects.get()
    assert record.file == File.objects.get()
    assert record.file.uploader is None  # no account uploaded it
    assert record.identity() == {
        "issuer": issuer.url,
        "kind": "github",
        "repository": "octo/sample",
        "workflow": "octo/sample/.github/workflows/release.yml@refs/tags/v1.0",
        "environment": "pypi",
    }
    assert (record.ref, record.sha[:6], record.run_id) == ("refs/tags/v1.0", "012345", "4242")
    event = Event.objects.get(tag="file:add")
    assert event.actor is None
    assert event.extra["method"] == "trusted_publisher"
    assert event.extra["publisher_id"] == str(publisher.pk)
    assert event.extra["claims"]["sha"].startswith("0123456789")
    page = client.get("/project/sample/1.0/").content.decode()
    assert "Published by trusted publisher 127.0.0.1" in page
    assert "octo/sample, release.yml (pypi)" in page
    document = client.get("/pypi/sample/json").json()
    trusted = document["urls"][0]["trusted_publisher"]
    assert trusted["repository"] == "octo/sample" and trusted["environment"] == "pypi"
    assert trusted["summary"].startswith("Published by trusted publisher")


def test_a_token_minted_for_project_a_is_refused_on_b(client, issuer, publisher, user):
    make_project("other", user)
    token = minted(client, issuer)
    response = upload_as(client, upload_form(name="other"), token)
    assert response.status_code == 403
    assert "scoped to sample and is not valid for other" in response.reason_phrase
    refusal = Event.objects.get(tag="account:upload:refused")
    assert refusal.extra["method"] == "trusted_publisher"
    assert not File.objects.exists()


def test_a_minted_token_is_refused_after_15_minutes(client, issuer, publisher):
    now = time.time()
    raw = issuer.sign(github_claims(), audience=audience(), iat=int(now) - 1000, lifetime=600)
    past = timezone.now() - timedelta(minutes=16)
    result = mint_upload_token(Actor(), raw, now=past)
    response = upload_as(client, upload_form(), result.token)
    assert response.status_code == 403
    assert "expired" in response.reason_phrase
    assert not File.objects.exists()


def test_a_single_use_token_works_once(client, issuer, publisher):
    token = minted(client, issuer, **{"single-use": True})
    assert upload_as(client, upload_form(), token).status_code == 200
    response = upload_as(client, upload_form(version="2.0"), token)
    assert response.status_code == 403
    assert "single-use upload token was already used" in response.reason_phrase


def test_a_multi_use_token_uploads_several_files(client, issuer, publisher):
    token = minted(client, issuer)
    assert upload_as(client, upload_form(), token).status_code == 200
    assert upload_as(client, upload_form(version="2.0"), token).status_code == 200
    assert PublishedFile.objects.count() == 2


def test_removing_the_publisher_revokes_its_tokens(client, issuer, publisher):
    token = minted(client, issuer)
    publisher.delete()
    response = upload_as(client, upload_form(), token)
    assert response.status_code == 403
    assert "trusted publisher was removed" in response.reason_phrase


def test_a_tampered_publisher_token_is_refused(client, issuer, publisher):
    token = minted(client, issuer)
    response = upload_as(client, upload_form(), token[:-4] + "AAAA")
    assert response.status_code == 403


def test_gitlab_shaped_claims_match_a_gitlab_publisher(client, user):
    project = make_project("sample", user)
    with LocalIssuer() as gitlab:
        issuer = services.add_issuer(Actor.operator(), url=gitlab.url, kind="gitlab")
        Publisher.objects.create(
            issuer=issuer, project=project, repository="group/sample", workflow=".gitlab-ci.yml"
        )
        host = gitlab.url.removeprefix("http://")
        wrong = gitlab.sign(gitlab_claims(host=host, ci_file="other.yml"), audience=audience())
        assert mint(client, wrong).status_code == 422
        good = gitlab.sign(gitlab_claims(host=host), audience=audience())
        response = mint(client, good)
        assert response.status_code == 200, response.content
        assert upload_as(client, upload_form(), response.json()["token"]).status_code == 200
    record = PublishedFile.objects.get()
    assert (record.kind, record.repository, record.run_id) == ("gitlab", "group/sample", "9001")


def test_generic_issuer_claim_policy(client, user):
    project = make_project("sample", user)
    with LocalIssuer() as generic:
        issuer = services.add_issuer(Actor.operator(), url=generic.url, kind="generic")
        Publisher.objects.create(
            issuer=issuer, project=project, claims={"sub": "ci:sample", "team": "core"}
        )
        other = generic.sign({"sub": "ci:sample", "team": "web"}, audience=audience())
        assert mint(client, other).status_code == 422
        good = generic.sign({"sub": "ci:sample", "team": "core"}, audience=audience())
        assert mint(client, good).status_code == 200


def test_a_pending_publisher_creates_the_project_for_its_owner(client, issuer, github, user):
    Publisher.objects.create(
        issuer=github,
        pending_name="sample",
        pending_owner=user,
        pending_expires=timezone.now() + timedelta(days=1),
        repository="octo/sample",
        workflow="release.yml",
        environment="pypi",
    )
    token = minted(client, issuer)
    response = upload_as(client, upload_form(), token)
    assert response.status_code == 200, response.content
    project = Project.objects.get(normalized_name="sample")
    assert Role.objects.get(project=project).user == user
    publisher = Publisher.objects.get()
    assert publisher.project == project and publisher.pending_expires is None
    assert Event.objects.filter(tag="project:publisher:add", project=project).exists()
    # The same token keeps working for the project it created.
    assert upload_as(client, upload_form(version="2.0"), token).status_code == 200


def test_an_expired_pending_publisher_mints_nothing(client, issuer, github, user):
    Publisher.objects.create(
        issuer=github,
        pending_name="sample",
        pending_owner=user,
        pending_expires=timezone.now() - timedelta(seconds=1),
        repository="octo/sample",
        workflow="release.yml",
        environment="pypi",
    )
    response = mint(client, issuer.sign(github_claims(), audience=audience()))
    assert response.status_code == 422


def test_a_suspended_accounts_pending_publisher_mints_nothing(client, issuer, github, user):
    Publisher.objects.create(
        issuer=github,
        pending_name="sample",
        pending_owner=user,
        pending_expires=timezone.now() + timedelta(days=1),
        repository="octo/sample",
        workflow="release.yml",
        environment="pypi",
    )
    user.is_active = False  # what console.services.suspend_user does to the account
    user.save(update_fields=["is_active"])
    response = mint(client, issuer.sign(github_claims(), audience=audience()))
    assert response.status_code == 422
    assert not Project.objects.filter(normalized_name="sample").exists()
    user.is_active = True
    user.save(update_fields=["is_active"])
    response = mint(client, issuer.sign(github_claims(), audience=audience()))
    assert response.status_code == 200


def test_a_pending_publisher_cannot_take_a_project_created_meanwhile(client, issuer, github, user):
    from tests.factories import UserFactory

    Publisher.objects.create(
        issuer=github,
        pending_name="sample",
        pending_owner=user,
        pending_expires=timezone.now() + timedelta(days=1),
        repository="octo/sample",
        workflow="release.yml",
        environment="pypi",
    )
    token = minted(client, issuer)
    make_project("sample", UserFactory(username="bob"))
    response = upload_as(client, upload_form(), token)
    assert response.status_code == 403
    assert "may not upload to sample" in response.reason_phrase


def test_require_trusted_publishing_refuses_api_tokens(client, issuer, publisher, user):
    from strongroom.publishing.models import PublishingPolicy

    PublishingPolicy.objects.create(project=publisher.project, require_trusted_publishing=True)
    response = post_upload(client, upload_form())
    assert response.status_code == 403
    assert "requires trusted publishing" in response.reason_phrase
    assert upload_as(client, upload_form(), minted(client, issuer)).status_code == 200


def test_the_site_refuses_password_uploads(client, publisher, user, settings):
    from tests.distributions import basic_auth

    settings.UPLOAD_PASSWORDS = "never"
    response = client.post("/legacy/", upload_form(), HTTP_AUTHORIZATION=basic_auth("alice"))
    assert response.status_code == 403
    assert "Uploading with a password is not allowed" in response.reason_phrase
