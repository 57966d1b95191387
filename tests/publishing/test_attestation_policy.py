"""A project's attestation policy: required attestations (owner, re-authentication, audit
event), and a change of signing repository flagged to owners and, when required, held back
until an owner confirms."""

from __future__ import annotations

import pytest
from django.core import mail

from strongroom.events.models import Event
from strongroom.packages.models import File, Project, Release, Role
from strongroom.publishing.models import AttestationPolicy, FileProvenance, Publisher
from tests.conftest import make_auth_stale, signed_in_with_second_factor
from tests.distributions import post_upload, upload_form
from tests.factories import UserFactory
from tests.publishing.conftest import make_project, upload_as
from tests.publishing.test_attestations import (
    OTHER,
    PUBLISH,
    SOURCE,
    attestation,
    form,
    make_attested_publisher,
    refused,
    token,
)

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/manage/project/pypi-attestations/attestations/"
MODELS = "pypi-attestation-models"
MODELS_PAGE = f"/manage/project/{MODELS}/attestations/"
MODELS_SOURCE = "https://github.com/trailofbits/pypi-attestation-models"


@pytest.fixture
def attested_publisher(github, user) -> Publisher:
    return make_attested_publisher(github, user)


def require(user, page: str = PAGE) -> None:
    client = signed_in_with_second_factor(user)
    response = client.post(page, {"action": "require", "required": "on"})
    assert response.status_code == 302


def test_an_owner_requires_attestations(user, github):
    project = make_project("pypi-attestations", user)
    client = signed_in_with_second_factor(user)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Require attestations" in page.content
    response = client.post(PAGE, {"action": "require", "required": "on"}, follow=True)
    assert "Add a trusted publisher first" in response.content.decode()
    Publisher.objects.create(issuer=github, project=project, repository="o/r", workflow="w.yml")
    client.post(PAGE, {"action": "require", "required": "on"})
    assert AttestationPolicy.objects.get(project=project).require_attestations
    event = Event.objects.get(tag="project:attestations_required:enable")
    assert event.actor == user
    client.post(PAGE, {"action": "require", "required": "off"})
    assert not AttestationPolicy.objects.get(project=project).require_attestations
    assert Event.objects.filter(tag="project:attestations_required:disable").exists()


def test_changing_the_policy_needs_a_recent_password_and_an_owner(user, github):
    project = make_project("pypi-attestations", user)
    Publisher.objects.create(issuer=github, project=project, repository="o/r", workflow="w.yml")
    client = signed_in_with_second_factor(user)
    make_auth_stale(client)
    response = client.post(PAGE, {"action": "require", "required": "on"})
    assert response.status_code == 302 and "/reauthenticate" in response["Location"]
    maintainer = UserFactory(username="bob")
    Role.objects.create(project=project, user=maintainer, role_name=Role.Name.MAINTAINER)
    other = signed_in_with_second_factor(maintainer)
    assert other.post(PAGE, {"action": "require", "required": "on"}).status_code == 404
    assert not AttestationPolicy.objects.filter(require_attestations=True).exists()


def test_required_refuses_an_upload_without_attestations(client, issuer, attested_publisher, user):
    require(user)
    response = upload_as(client, form(None), token(client, issuer))
    refused(response, "requires attestations", "pypi-attestations")


def test_required_refuses_attestations_on_an_api_token_upload(client, attested_publisher, user):
    require(user)
    response = post_upload(client, form([PUBLISH]))
    refused(response, "requires attestations from its trusted publisher", "API token")
    plain = post_upload(client, upload_form(name="pypi-attestations", version="2.0"))
    assert plain.status_code == 400 and "requires attestations" in plain.reason_phrase


def test_required_accepts_valid_attestations(client, issuer, attested_publisher, user):
    require(user)
    response = upload_as(client, form([PUBLISH]), token(client, issuer))
    assert response.status_code == 200, response.content
    assert FileProvenance.objects.get().repository == SOURCE


@pytest.fixture
def moved(github, user) -> Publisher:
    """pypi-attestation-models, whose earlier attested release was signed by another
    repository (trailofbits/pypi-attestations); its publisher now signs from its own."""
    project = make_project(MODELS, user)
    owner = UserFactory(username="carol")
    Role.objects.create(project=project, user=owner, role_name=Role.Name.OWNER)
    release = Release.objects.create(project=project, version="0.0.3", canonical_version="0.0.3")
    earlier = File.objects.create(
        release=release, project=project, filename="pypi_attestation_models-0.0.3.tar.gz",
        packagetype="sdist", python_version="source", size=1, path="p/earlier",
        sha256_digest="0" * 64, blake2_256_digest="0" * 64, md5_digest="0" * 32,
    )  # fmt: skip
    FileProvenance.objects.create(file=earlier, provenance={}, repository=SOURCE)
    return Publisher.objects.create(
        issuer=github, project=project, repository=f"trailofbits/{MODELS}", workflow="release.yml"
    )


def models_upload(client, issuer):
    fields = form([attestation(f"{OTHER}.attestation")], filename=OTHER, name=MODELS)
    return upload_as(client, fields, token(client, issuer, f"trailofbits/{MODELS}"))


def test_a_new_signing_repository_is_flagged_to_the_owners(client, issuer, moved):
    response = models_upload(client, issuer)
    assert response.status_code == 200, response.content
    event = Event.objects.get(tag="project:attestation_repository:changed")
    assert event.extra == {
        "project": MODELS, "previous": SOURCE, "new": MODELS_SOURCE, "held_back": False,
    }  # fmt: skip
    told = {m.to[0] for m in mail.outbox if "different repository signed" in m.subject}
    assert told == {"alice@example.org", "carol@example.org"}
    assert MODELS_SOURCE in mail.outbox[-1].body


def test_required_holds_back_a_new_signing_repository_until_an_owner_confirms(
    client, issuer, moved, user
):
    require(user, MODELS_PAGE)
    response = models_upload(client, issuer)
    refused_files = File.objects.filter(filename=OTHER)
    assert response.status_code == 400
    assert "The upload is held back: it is signed by " + MODELS_SOURCE in response.reason_phrase
    assert "An owner must confirm the new repository" in response.reason_phrase
    assert not refused_files.exists()
    event = Event.objects.get(tag="project:attestation_repository:changed")
    assert event.extra["held_back"] is True
    assert any("held back" in m.body for m in mail.outbox)
    project = Project.objects.get(normalized_name=MODELS)
    assert AttestationPolicy.objects.get(project=project).held_repository == MODELS_SOURCE

    owner = signed_in_with_second_factor(user)
    page = owner.get(MODELS_PAGE).content.decode()
    assert f"Confirm {MODELS_SOURCE}" in page
    wrong = owner.post(
        MODELS_PAGE, {"action": "confirm", "repository": "https://evil"}, follow=True
    )
    assert "No upload from that repository is waiting" in wrong.content.decode()
    owner.post(MODELS_PAGE, {"action": "confirm", "repository": MODELS_SOURCE})
    confirmed = Event.objects.get(tag="project:attestation_repository:confirmed")
    assert confirmed.actor == user and confirmed.extra["new"] == MODELS_SOURCE

    again = models_upload(client, issuer)
    assert again.status_code == 200, again.content
    assert refused_files.exists()
    assert Event.objects.filter(tag="project:attestation_repository:changed").count() == 1


def test_the_attestation_page_is_for_owners_only(client, moved):
    stranger = signed_in_with_second_factor(UserFactory(username="mallory"))
    assert stranger.get(MODELS_PAGE).status_code == 404
