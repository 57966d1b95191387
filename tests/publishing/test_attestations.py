"""PEP 740 attestations with real, PyPI-signed assets, verified offline: accepted from the
matching trusted publisher and served (simple API, Integrity API); every mismatch refused
with a clear reason and nothing stored."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pypi_attestations import Attestation, Distribution, GitHubPublisher, Provenance

from strongroom.packages.models import File, Project, Release
from strongroom.publishing.models import FileProvenance, Publisher
from strongroom.storage import get_storage
from tests.distributions import upload_form
from tests.publishing.conftest import audience, make_project, mint, upload_as
from tests.publishing.issuer import github_claims

pytestmark = pytest.mark.django_db(transaction=True)

ASSETS = Path(__file__).parent / "assets"
DIST = "pypi_attestations-0.0.19.tar.gz"
OTHER = "pypi_attestation_models-0.0.4a2.tar.gz"  # signed by another repository
REPOSITORY = "trailofbits/pypi-attestations"
SOURCE = f"https://github.com/{REPOSITORY}"
COMMIT = "08802efe1f8e5fec4ad842d6b8ce97656092ee72"
PRODUCTION_TUF = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
STAGING_TUF = "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"


def asset(name: str) -> bytes:
    return (ASSETS / name).read_bytes()


def attestation(name: str) -> dict[str, Any]:
    return dict(json.loads(asset(name)))


PUBLISH = attestation(f"{DIST}.publish.attestation")
SLSA = attestation(f"{DIST}.slsa.attestation")


def make_attested_publisher(github: Any, user: Any) -> Publisher:
    """The trusted publisher named by the assets' signing certificate."""
    project = make_project("pypi-attestations", user)
    return Publisher.objects.create(
        issuer=github, project=project, repository=REPOSITORY, workflow="release.yml"
    )


@pytest.fixture
def attested_publisher(github, user) -> Publisher:
    return make_attested_publisher(github, user)


def token(client, issuer, repository: str = REPOSITORY) -> str:
    claims = github_claims(repository, "release.yml", environment=None, ref="refs/tags/v0.0.19")
    response = mint(client, issuer.sign(claims, audience=audience()))
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def form(
    attestations: object, filename: str = DIST, name: str = "pypi-attestations"
) -> dict[str, Any]:
    version = filename.removesuffix(".tar.gz").rpartition("-")[2]
    fields = upload_form(asset(filename), filename, name=name, version=version, filetype="sdist")
    if attestations is not None:
        fields["attestations"] = (
            attestations if isinstance(attestations, str) else json.dumps(attestations)
        )
    return fields


def refused(response: Any, *phrases: str) -> None:
    assert response.status_code == 400, response.content
    for phrase in phrases:
        assert phrase in response.reason_phrase, response.reason_phrase
    assert not File.objects.exists()
    assert not Release.objects.exists()
    assert not FileProvenance.objects.exists()


def test_real_attestations_are_accepted_served_and_verify(
    client, issuer, attested_publisher, settings
):
    response = upload_as(client, form([PUBLISH, SLSA]), token(client, issuer))
    assert response.status_code == 200, response.content
    file = File.objects.get()
    record = FileProvenance.objects.get(file=file)
    assert (record.repository, record.workflow, record.commit) == (
        SOURCE,
        ".github/workflows/release.yml",
        COMMIT,
    )
    assert sorted(record.predicate_types) == [
        "https://docs.pypi.org/attestations/publish/v1",
        "https://slsa.dev/provenance/v1",
    ]
    # Stored beside the file, like its metadata.
    beside = get_storage().open(f"{file.path}.provenance").read()
    assert json.loads(beside) == record.provenance

    url = f"/integrity/pypi-attestations/0.0.19/{DIST}/provenance"
    simple = client.get(
        "/simple/pypi-attestations/", HTTP_ACCEPT="application/vnd.pypi.simple.v1+json"
    ).json()
    assert simple["meta"]["api-version"] == "1.4"
    assert simple["files"][0]["provenance"] == f"{settings.BASE_URL}{url}"
    html = client.get("/simple/pypi-attestations/", HTTP_ACCEPT="text/html").content.decode()
    assert f'data-provenance="{settings.BASE_URL}{url}"' in html
    assert 'content="1.4"' in html

    served = client.get(url, HTTP_ACCEPT="application/vnd.pypi.integrity.v1+json")
    assert served.status_code == 200
    assert served["Content-Type"] == "application/vnd.pypi.integrity.v1+json"
    # What we serve verifies with pypi-attestations, as an installer would check it.
    provenance = Provenance.model_validate_json(served.content)
    (bundle,) = provenance.attestation_bundles
    assert bundle.publisher.kind == "GitHub"
    dist = Distribution(name=DIST, digest=file.sha256_digest)
    expected = GitHubPublisher(repository=REPOSITORY, workflow="release.yml")
    kinds = {a.verify(expected, dist, offline=True)[0] for a in bundle.attestations}
    assert kinds == set(record.predicate_types)

    page = client.get("/project/pypi-attestations/0.0.19/").content.decode()
    assert "Attested: built by" in page
    assert f'href="{SOURCE}/tree/{COMMIT}"' in page
    assert "github.com/trailofbits/pypi-attestations</a> .github/workflows/release.yml" in page


def test_integrity_api_answers_404_and_406(client, issuer, attested_publisher, user):
    assert upload_as(client, form([PUBLISH]), token(client, issuer)).status_code == 200
    url = f"/integrity/pypi-attestations/0.0.19/{DIST}/provenance"
    assert client.get(url).status_code == 200  # no Accept header: the one format
    assert client.get(url, HTTP_ACCEPT="application/json").status_code == 200
    refused_format = client.get(url, HTTP_ACCEPT="text/html")
    assert refused_format.status_code == 406
    assert "application/vnd.pypi.integrity.v1+json" in refused_format.json()["message"]
    for missing in (
        "/integrity/pypi-attestations/0.0.19/pypi_attestations-0.0.19.zip/provenance",
        "/integrity/pypi-attestations/9.9/pypi_attestations-0.0.19.tar.gz/provenance",
        "/integrity/nothing/0.0.19/pypi_attestations-0.0.19.tar.gz/provenance",
        "/integrity/pypi-attestations/not a version/x.tar.gz/provenance",
    ):
        assert client.get(missing).status_code == 404, missing
    # A file without attestations: 404 with PyPI's sentence.
    plain = make_project("plain", user)
    Publisher.objects.create(
        issuer=attested_publisher.issuer, project=plain, repository="octo/plain",
        workflow="release.yml",
    )  # fmt: skip
    claims = github_claims("octo/plain", "release.yml", environment=None)
    raw = mint(client, issuer.sign(claims, audience=audience())).json()["token"]
    assert upload_as(client, upload_form(name="plain"), raw).status_code == 200
    response = client.get("/integrity/plain/1.0/plain-1.0-py3-none-any.whl/provenance")
    assert response.status_code == 404
    assert response.json()["message"] == "No provenance available for plain-1.0-py3-none-any.whl."
    entry = client.get("/simple/plain/", HTTP_ACCEPT="application/vnd.pypi.simple.v1+json")
    assert entry.json()["files"][0]["provenance"] is None


def test_an_attestation_for_another_file_is_refused(client, issuer, attested_publisher):
    # The real attestation of pypi-attestations 0.0.19, sent with another file of the project.
    other = upload_form(name="pypi-attestations", version="0.0.20", filetype="sdist")
    other["attestations"] = json.dumps([PUBLISH])
    response = upload_as(client, other, token(client, issuer))
    refused(response, "Attestation 1 is for another file", DIST, "pypi_attestations-0.0.20")


def test_a_tampered_signature_is_refused(client, issuer, attested_publisher):
    tampered = json.loads(json.dumps(PUBLISH))
    signature = bytearray(base64.b64decode(tampered["envelope"]["signature"]))
    signature[-1] ^= 0x01
    tampered["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    response = upload_as(client, form([tampered]), token(client, issuer))
    refused(response, "Attestation 1 failed verification: its signature is invalid")


def test_a_tampered_statement_is_refused(client, issuer, attested_publisher):
    changed = json.loads(json.dumps(PUBLISH))
    statement = json.loads(base64.b64decode(changed["envelope"]["statement"]))
    statement["subject"][0]["name"] = "pypi_attestations-0.0.19.tar.gz"
    statement["predicate"] = {"extra": "claim"}
    changed["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    response = upload_as(client, form([changed]), token(client, issuer))
    refused(response, "Attestation 1 failed verification: its signature is invalid")


def test_a_predicate_pypi_does_not_accept_is_refused(client, issuer, attested_publisher):
    # The predicate type is read before the signature is checked, so the refusal names it
    # (a re-signed statement would need Sigstore's production CA, which tests cannot reach).
    other = json.loads(json.dumps(PUBLISH))
    statement = json.loads(base64.b64decode(other["envelope"]["statement"]))
    statement["predicateType"] = "https://in-toto.io/attestation/vulns/v0.1"
    other["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()
    response = upload_as(client, form([other]), token(client, issuer))
    refused(response, "predicate type https://in-toto.io/attestation/vulns/v0.1", "not accepted")


def test_two_of_the_same_predicate_are_refused(client, issuer, attested_publisher):
    response = upload_as(client, form([PUBLISH, PUBLISH]), token(client, issuer))
    refused(response, "Two attestations have the predicate PyPI Publish v1")


def test_an_identity_of_another_repository_is_refused(client, issuer, attested_publisher):
    # pypi-attestation-models' own file and its real attestation: valid, but signed by
    # trailofbits/pypi-attestation-models, not this upload's publisher.
    Project.objects.filter(pk=attested_publisher.project_id).update(
        name="pypi-attestation-models", normalized_name="pypi-attestation-models"
    )
    other = form(
        [attestation(f"{OTHER}.attestation")], filename=OTHER, name="pypi-attestation-models"
    )
    response = upload_as(client, other, token(client, issuer))
    refused(
        response,
        "Attestation 1 was not signed by this upload's trusted publisher",
        "trailofbits/pypi-attestations, release.yml",
    )


def test_malformed_json_is_refused(client, issuer, attested_publisher):
    for bad, phrase in (
        ("[{", "not valid JSON"),
        ('{"version": 1}', "must be a non-empty JSON list"),
        ("[]", "must be a non-empty JSON list"),
        ('[{"version": 1}]', "Attestation 1 is not a PEP 740 attestation object"),
        (json.dumps([PUBLISH, SLSA, PUBLISH]), "Too many attestations"),
    ):
        response = upload_as(client, form(bad), token(client, issuer))
        refused(response, phrase)


def test_an_oversized_field_is_refused(client, issuer, attested_publisher, settings):
    settings.ATTESTATIONS_MAX_SIZE = 16 * 1024
    padded = json.loads(json.dumps(PUBLISH))
    padded["padding"] = "x" * 20_000
    response = upload_as(client, form([padded]), token(client, issuer))
    refused(response, "The attestations field is too large (the limit is 16 KiB)")


def test_attestations_through_an_api_token_are_refused(client, user):
    from tests.distributions import post_upload

    make_project("pypi-attestations", user)
    response = post_upload(client, form([PUBLISH]))
    refused(response, "accepted only on uploads through a trusted publisher")


def test_a_private_trusted_root_goes_through_the_same_verifier(
    client, issuer, attested_publisher, settings, tmp_path
):
    """STRONGROOM_SIGSTORE_TRUSTED_ROOT: the public-good root as a file verifies; a root of
    another deployment (staging's) refuses the same real attestation."""
    from sigstore import _store  # the trusted roots sigstore ships

    store = Path(_store.__file__).parent
    production = tmp_path / "production.json"
    production.write_bytes((store / PRODUCTION_TUF / "trusted_root.json").read_bytes())
    staging = tmp_path / "staging.json"
    staging.write_bytes((store / STAGING_TUF / "trusted_root.json").read_bytes())
    settings.SIGSTORE_TRUSTED_ROOT = str(staging)
    response = upload_as(client, form([PUBLISH]), token(client, issuer))
    refused(response, "Attestation 1 failed verification")
    settings.SIGSTORE_TRUSTED_ROOT = str(production)
    response = upload_as(client, form([PUBLISH]), token(client, issuer))
    assert response.status_code == 200, response.content
    assert Attestation.model_validate(FileProvenance.objects.get().provenance[
        "attestation_bundles"][0]["attestations"][0]).certificate_claims  # fmt: skip


def test_an_unreadable_trusted_root_is_a_503_and_nothing_is_stored(
    client, issuer, attested_publisher, settings, tmp_path
):
    broken = tmp_path / "trusted_root.json"
    broken.write_text("{not json")
    settings.SIGSTORE_TRUSTED_ROOT = str(broken)
    response = upload_as(client, form([PUBLISH]), token(client, issuer))
    assert response.status_code == 503
    assert "Sigstore trusted root" in response.reason_phrase
    assert not File.objects.exists() and not FileProvenance.objects.exists()


def test_a_publisher_without_a_verification_policy_cannot_send_attestations(
    client, issuer, attested_publisher
):
    from strongroom.publishing.models import Issuer

    Issuer.objects.filter(pk=attested_publisher.issuer_id).update(kind="forgejo")
    response = upload_as(client, form([PUBLISH]), token(client, issuer))
    refused(response, "verified for GitHub, GitLab and Google trusted publishers only")
